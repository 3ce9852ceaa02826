"""Text -> tokens -> ids -> tokens, for the live tokenizer widget of notebook 01.

`pipeline_steps` does the work and raises on bad input; `pipeline_view` renders the steps as
aligned text for an ipywidgets Output and turns a problem with the typed text (empty, too long)
into a readable note instead of a traceback, because a learner types into the box mid-word.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral

from ..fields import Field, check_sentence

MAX_CHARS = 500
STEP_KEYS = ("text", "tokens", "preprocessed", "with_specials", "ids", "back", "unknown")


def align_columns(rows: Mapping[str, Sequence[object]]) -> str:
    """Lay out equally long rows as a table, each column as wide as its widest cell.

    Numbers are right-aligned and text left-aligned, so an id sits under its token.

    >>> print(align_columns({"token": ["<sos>", "ein", "hund"], "id": [2, 5, 31]}))
    token | <sos>  ein  hund
    id    |     2    5    31
    """
    if not isinstance(rows, Mapping) or len(rows) == 0:
        raise ValueError("align_columns needs a non-empty mapping of row label -> cells, "
                         "e.g. {'token': ['a'], 'id': [4]}.")
    if any(isinstance(row, str) or not isinstance(row, Sequence) for row in rows.values()):
        raise TypeError("Each row must be a list of cells (e.g. ['<sos>', 'ein']), not a string or scalar.")
    rows = {str(label): list(row) for label, row in rows.items()}
    sizes = {label: len(row) for label, row in rows.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"Every row must have the same number of cells; got {sizes}.")
    widths = [max(len(str(cell)) for cell in column) for column in zip(*rows.values())]
    label_width = max(len(label) for label in rows)
    lines = []
    for label, row in rows.items():
        parts = [str(cell).rjust(width) if isinstance(cell, Integral) else str(cell).ljust(width)
                 for cell, width in zip(row, widths)]
        lines.append(f"{label.ljust(label_width)} | {'  '.join(parts)}".rstrip())
    return "\n".join(lines)


def _check_setup(field: Field, max_chars: int) -> None:
    if not isinstance(field, Field):
        raise TypeError(f"Expected a seq2seq_lib Field, got {type(field).__name__}; "
                        "create one with Field('de') and build its vocabulary first.")
    if field.vocab is None:
        raise RuntimeError(f"The {field.lang!r} field has no vocabulary yet; call "
                           "field.build_vocab(token_lists) before showing ids.")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}.")


def pipeline_steps(text: str, field: Field, max_chars: int = MAX_CHARS) -> dict[str, list | str]:
    """Every stage of `field` applied to `text`, from the raw string to ids and back.

    Keys: "text"; "tokens" (as spaCy splits them); "preprocessed" (lowercased, cut to max_len);
    "with_specials" (what numericalize looks up: <sos> + preprocessed + <eos>); "ids"; "back"
    (the vocabulary's token for every id); "unknown" (tokens not in the vocabulary, so <unk>).

    >>> field = Field("en")
    >>> field.build_vocab([["a", "dog", "runs", "."]]).itos[4:]
    ['.', 'a', 'dog', 'runs']
    >>> steps = pipeline_steps("A dog flies.", field)
    >>> steps["tokens"], steps["ids"]
    (['A', 'dog', 'flies', '.'], [2, 5, 6, 0, 4, 3])
    >>> steps["back"], steps["unknown"]
    (['<sos>', 'a', 'dog', '<unk>', '.', '<eos>'], ['flies'])
    """
    _check_setup(field, max_chars)
    text = check_sentence(text)
    if len(text) > max_chars:
        raise ValueError(f"The sentence has {len(text)} characters; this view shows at most "
                         f"{max_chars}. Type a shorter sentence (a caption is about 60).")
    tokens = field.tokenize(text)
    preprocessed = field.preprocess(text)
    head = [field.init_token] if field.init_token else []
    tail = [field.eos_token] if field.eos_token else []
    ids = field.numericalize(preprocessed)
    return {
        "text": text,
        "tokens": tokens,
        "preprocessed": preprocessed,
        "with_specials": head + preprocessed + tail,
        "ids": ids,
        "back": field.vocab.lookup_tokens(ids),
        "unknown": [token for token in preprocessed if token not in field.vocab],
    }


def format_steps(steps: Mapping[str, object]) -> str:
    """Readable text of `pipeline_steps` output: the tokens, then each id under its token."""
    if not isinstance(steps, Mapping) or set(STEP_KEYS) - set(steps):
        raise ValueError(f"format_steps takes the dict that pipeline_steps returns (keys {STEP_KEYS}).")
    table = align_columns({"token": steps["with_specials"], "id": steps["ids"], "back": steps["back"]})
    unknown = ", ".join(repr(token) for token in steps["unknown"]) or "none"
    return "\n".join([
        f"text   : {steps['text']}",
        f"tokens : {' | '.join(steps['tokens'])}   ({len(steps['tokens'])} tokens)",
        "",
        table,
        "",
        f"not in the vocabulary, so <unk>: {unknown}",
    ])


def pipeline_view(text: str, field: Field, max_chars: int = MAX_CHARS) -> str:
    """What the widget shows for `text`; a problem with the typed text becomes a note, not an error.

    A wrong `field` or `max_chars` still raises: that is a mistake in the notebook, not in the typing.
    """
    _check_setup(field, max_chars)
    if isinstance(text, str) and not text.strip():
        return "Type a sentence in the box above to see its tokens and ids."
    try:
        return format_steps(pipeline_steps(text, field, max_chars))
    except ValueError as exc:
        return f"Cannot show this sentence: {exc}"

"""German in, English out: the logic of notebook 08's "translate your own sentence" widget.

`translate_view` checks the typed text, calls the Translator and returns two pieces of HTML:
the translation alone (for the output widget) and a line of details (beam size, score, unknown
words). A problem with the typed text (empty, too long) becomes a message in the widget instead
of a traceback; a mistake in the notebook itself (no Translator, a beam size of 0) still raises.
Every piece of text is HTML-escaped, so that `<unk>` shows as `<unk>` instead of vanishing as a tag.
"""
from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from typing import Any

from ..decode import check_decode_options
from ..translator import Translation, Translator

MAX_CHARS = 300
WAITING_HTML = "<i>Translating…</i>"  # shown while the model works
TRANSLATION_STYLE = "font-size: 1.25em;"
MESSAGE_STYLE = "color: #b03a2e;"


@dataclass(frozen=True)
class TranslateView:
    """What the widget shows: `translation_html` for the output box, `details_html` under it."""

    translation_html: str
    details_html: str
    ok: bool  # False when the typed text could not be translated (the output holds a message)


def check_text(text: object, max_chars: int = MAX_CHARS) -> str:
    """The typed sentence without surrounding whitespace; ValueError/TypeError saying what to type instead.

    >>> check_text("  Ein Hund läuft.  ")
    'Ein Hund läuft.'
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}.")
    if not isinstance(text, str):
        raise TypeError(f"Expected the sentence as a string, got {type(text).__name__}.")
    text = text.strip()
    if not text:
        raise ValueError("Type a German sentence in the box first, e.g. 'Ein Hund läuft im Schnee.'")
    if len(text) > max_chars:
        raise ValueError(f"The text has {len(text)} characters; the widget translates at most {max_chars} "
                         "(one caption is about 60). Translate one sentence at a time.")
    return text


def unknown_words(translator: Translator, tokens: list[str]) -> list[str]:
    """Source tokens the model reads as `<unk>` because its vocabulary lacks them (each once, in order)."""
    if isinstance(tokens, str):
        raise TypeError("unknown_words takes the source tokens, not text: unknown_words(translator, "
                        "translator.src_field.preprocess(text)).")
    vocab = translator.src_field.vocab
    specials = set(translator.src_field.specials)
    seen: list[str] = []
    for token in tokens:
        if token not in vocab and token not in specials and token not in seen:
            seen.append(token)
    return seen


def format_translation(translation: Translation) -> str:
    """The translated text as HTML (escaped); a note when the model wrote nothing before `<eos>`.

    >>> t = Translation("a <unk> runs.", ["a", "<unk>", "runs", "."], ["<sos>", "<eos>"], -1.0, True, None)
    >>> format_translation(t)
    '<span style="font-size: 1.25em;">a &lt;unk&gt; runs.</span>'
    """
    if not translation.text.strip():
        return "<i>(the model wrote &lt;eos&gt; straight away: an empty translation)</i>"
    return f'<span style="{TRANSLATION_STYLE}">{html.escape(translation.text)}</span>'


def format_details(translation: Translation, beam_size: int, unknown: list[str],
                   notes: list[str] | tuple[str, ...] = ()) -> str:
    """One line of HTML about how the translation was made, plus any notes (escaped)."""
    method = "greedy decoding" if beam_size == 1 else f"beam search, beam size {beam_size}"
    per_token = "log-probability per token" if beam_size > 1 else "log-probability"
    parts = [method, f"{len(translation.tokens)} output tokens", f"{per_token} {translation.score:.2f}"]
    if not translation.ended:
        parts.append("cut at max_len (no &lt;eos&gt;)")
    lines = [" · ".join(parts)]
    if unknown:
        words = ", ".join(html.escape(word) for word in unknown)
        lines.append(f"read as &lt;unk&gt; (not in the German vocabulary): {words}")
    lines.extend(html.escape(note) for note in notes)
    return '<span style="color: #555;">' + "<br>".join(lines) + "</span>"


def format_message(message: str) -> str:
    """A problem with the typed text, as HTML for the output box.

    >>> format_message("Type a <sentence>.")
    '<span style="color: #b03a2e;">Type a &lt;sentence&gt;.</span>'
    """
    return f'<span style="{MESSAGE_STYLE}">{html.escape(message)}</span>'


def translate_view(translator: Translator, text: object, beam_size: int = 1, max_len: int = 50,
                   max_chars: int = MAX_CHARS) -> TranslateView:
    """Translate the typed `text` and render it; bad typing gives a message, never a traceback."""
    if not isinstance(translator, Translator):
        raise TypeError(f"Expected a seq2seq_lib Translator, got {type(translator).__name__}; make one with "
                        "Translator(model, src_field, trg_field) or Translator.from_checkpoint(path).")
    check_decode_options(beam_size, max_len)
    try:
        sentence = check_text(text, max_chars)
    except (TypeError, ValueError) as error:
        return TranslateView(format_message(str(error)), "", ok=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result: Any = translator.translate(sentence, beam_size=beam_size, max_len=max_len, details=True)
    notes = [str(w.message) for w in caught]
    unknown = unknown_words(translator, result.source[1:-1])
    return TranslateView(format_translation(result), format_details(result, beam_size, unknown, notes), ok=True)


__all__ = ["MAX_CHARS", "WAITING_HTML", "TranslateView", "check_text", "unknown_words", "format_translation",
           "format_details", "format_message", "translate_view"]

"""Step through byte-pair-encoding merges: the logic of the subword notebook's merge slider.

A slider picks a merge number k (0: none yet). For merge k the view shows the pair merged and
how often it occurred, how a few words are segmented after the first k merges, and how many
symbols the vocabulary holds. `merge_view` renders that as HTML (escaped, so that the marker
`</w>` shows instead of vanishing as a tag); a problem with the typed words becomes a note in the
widget, while a mistake in the notebook (no trace, a merge number out of range) still raises.
`merge_widget` wires the controls with ipywidgets (7.6 and later, 8 included).

>>> from seq2seq_lib.bpe import trace_bpe
>>> trace = trace_bpe(["low " * 5, "lower " * 2, "newest " * 6, "widest " * 3], 5)
>>> merge_summary(trace, 1)
"merge 1 of 5: ('e', 's') -> 'es', seen 9 times"
>>> segment_words(trace, 5, ["lowest", "newer"])
[('lowest', ['low', 'est</w>']), ('newer', ['n', 'e', 'w', 'e', 'r', '</w>'])]
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..bpe import BpeTrace, apply_bpe

MAX_WORDS = 12
PIECE_STYLE = "border: 1px solid #999; border-radius: 3px; padding: 0 3px; margin-right: 2px; font-family: monospace;"
NEW_STYLE = "background: #fde68a;"  # the pieces the current merge just made


def check_step(trace: BpeTrace, number: object) -> int:
    """`number` if it is a merge number of `trace` (0 = before any merge), else an error naming the range."""
    if not isinstance(trace, BpeTrace):
        raise TypeError(f"Expected the BpeTrace that seq2seq_lib.bpe.trace_bpe(corpus, n_merges) returns, "
                        f"got {type(trace).__name__}.")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= len(trace.steps):
        raise ValueError(f"The merge number must be an integer from 0 (no merge yet) to {len(trace.steps)}, "
                         f"got {number!r}.")
    return number


def words_of(words: str | Sequence[str]) -> list[str]:
    """The words to segment: a typed string split on whitespace and commas, or a list as it is.

    >>> words_of("lowest, newer  wider")
    ['lowest', 'newer', 'wider']
    """
    if isinstance(words, str):
        return words.replace(",", " ").split()
    if not isinstance(words, Sequence) or not all(isinstance(w, str) and w and not any(c.isspace() for c in w)
                                                  for w in words):
        raise TypeError("words must be a string of words, or a list of single words such as ['lowest', 'newer'].")
    return list(words)


def segment_words(trace: BpeTrace, number: int, words: str | Sequence[str]) -> list[tuple[str, list[str]]]:
    """(word, pieces) for each word after the first `number` merges; unseen words are segmented too."""
    number = check_step(trace, number)
    return [(word, apply_bpe(word, trace.merges[:number])) for word in words_of(words)]


def vocabulary_size(trace: BpeTrace, number: int) -> tuple[int, int]:
    """(symbols in the vocabulary, symbols in use) after `number` merges.

    The vocabulary is the alphabet plus one symbol per merge, as a subword model ships it; the
    corpus may use fewer, because a merge can absorb every occurrence of a symbol.

    >>> from seq2seq_lib.bpe import trace_bpe
    >>> vocabulary_size(trace_bpe(["ab ab"], 2), 2)  # a, b, </w> + ab, ab</w>; only ab</w> is left in use
    (5, 1)
    """
    number = check_step(trace, number)
    in_use = trace.steps[number - 1].symbols if number else trace.alphabet
    return len(trace.alphabet) + number, len(in_use)


def merge_summary(trace: BpeTrace, number: int) -> str:
    """One line about merge `number`: the pair, the new symbol and how often the pair occurred."""
    number = check_step(trace, number)
    if number == 0:
        return (f"no merge yet ({len(trace.steps)} learned): every word is its characters "
                "followed by the end-of-word marker </w>")
    step = trace.steps[number - 1]
    return f"merge {number} of {len(trace.steps)}: {step.pair} -> {step.symbol!r}, seen {step.count} times"


def _pieces_html(pieces: Sequence[str], new_symbol: str | None) -> str:
    spans = []
    for piece in pieces:
        style = PIECE_STYLE + (NEW_STYLE if piece == new_symbol else "")
        spans.append(f'<span style="{style}">{html.escape(piece)}</span>')
    return "".join(spans)


def merge_view(trace: BpeTrace, number: int, words: str | Sequence[str] = ()) -> str:
    """HTML for the widget: the merge, the segmented words, the vocabulary size and the corpus length.

    Typed words that cannot be segmented (too many) give a note instead of an error.
    """
    number = check_step(trace, number)
    lines = [f"<b>{html.escape(merge_summary(trace, number))}</b>"]
    new_symbol = trace.steps[number - 1].symbol if number else None
    chosen = words_of(words)
    if len(chosen) > MAX_WORDS:
        lines.append(f"<i>Showing the first {MAX_WORDS} of {len(chosen)} words; type fewer to see them all.</i>")
        chosen = chosen[:MAX_WORDS]
    rows = [f"<tr><td style='padding-right: 1em;'>{html.escape(word)}</td><td>{_pieces_html(pieces, new_symbol)}"
            f"</td><td style='color: #555; padding-left: 1em;'>{len(pieces)} pieces</td></tr>"
            for word, pieces in segment_words(trace, number, chosen)]
    if rows:
        lines.append("<table>" + "".join(rows) + "</table>")
    else:
        lines.append("<i>Type some words in the box to see how they are segmented.</i>")
    vocabulary, in_use = vocabulary_size(trace, number)
    counts = trace.word_counts
    characters = sum((len(word) + 1) * count for word, count in counts.items())
    length = trace.steps[number - 1].corpus_length if number else characters
    lines.append(f'<span style="color: #555;">vocabulary: {vocabulary} symbols ({len(trace.alphabet) - 1} characters '
                 f"and &lt;/w&gt;, + {number} merges), {in_use} of them in use · the corpus of "
                 f"{sum(counts.values())} words takes {length} symbols (as characters: {characters})</span>")
    return "<br>".join(lines)


def merge_widget(trace: BpeTrace, words: str | Sequence[str] = (), number: int = 0) -> Any:
    """A slider over the merge number, a box for words and the view, wired together (an ipywidgets VBox)."""
    import ipywidgets as widgets

    number = check_step(trace, number)
    slider = widgets.IntSlider(value=number, min=0, max=len(trace.steps), step=1, description="merge",
                               continuous_update=True)
    words_box = widgets.Text(value=" ".join(words_of(words)), description="words", continuous_update=False,
                             layout=widgets.Layout(width="90%"))
    view = widgets.HTML(value=merge_view(trace, number, words_box.value))

    def show(change: object = None) -> None:
        view.value = merge_view(trace, slider.value, words_box.value)

    slider.observe(show, names="value")
    words_box.observe(show, names="value")
    return widgets.VBox([slider, words_box, view])


__all__ = ["MAX_WORDS", "check_step", "words_of", "segment_words", "vocabulary_size", "merge_summary",
           "merge_view", "merge_widget"]

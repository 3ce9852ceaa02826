"""Pick a sentence, see where the model looked: the logic of notebook 09's attention explorer.

`sentence_choices` makes the Dropdown's options, `alignment_of` translates one sentence with an
attention model and keeps its weights, `strongest_links` and `describe` turn them into text; the
notebook draws the heatmap with `seq2seq_lib.plots.plot_attention`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..decode import has_attention
from ..translator import Translator

MAX_CHOICES = 40


@dataclass(frozen=True)
class Alignment:
    """One translation and its attention: `weights[i, j]` is how much output token i read source token j."""

    source: list[str]  # columns: the tokens the encoder read, with <sos> and <eos>
    output: list[str]  # rows: the output tokens, then <eos> if the model wrote it
    weights: np.ndarray  # (len(output), len(source)); every row sums to 1
    text: str  # the translation as text

    def __post_init__(self) -> None:
        if self.weights.shape != (len(self.output), len(self.source)):
            raise ValueError(f"weights {self.weights.shape} must be (len(output), len(source)) = "
                             f"({len(self.output)}, {len(self.source)}).")


def _shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis.

    >>> _shorten("Ein Hund läuft durch den Schnee.", 12)
    'Ein Hund lä…'
    """
    return text if len(text) <= width else text[: width - 1] + "…"


def sentence_choices(pairs: Sequence[tuple[str, str]], max_items: int = MAX_CHOICES,
                     width: int = 70) -> list[tuple[str, int]]:
    """(label, index) options for a Dropdown: the first `max_items` German sentences, numbered.

    >>> sentence_choices([("Ein Hund läuft.", "A dog runs."), ("Zwei Männer.", "Two men.")])
    [('0: Ein Hund läuft.', 0), ('1: Zwei Männer.', 1)]
    """
    if isinstance(pairs, str) or not isinstance(pairs, Sequence) or len(pairs) == 0:
        raise ValueError("pairs must be a non-empty list of (german, english) pairs, e.g. data.pairs['test'].")
    for name, value in (("max_items", max_items), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return [(_shorten(f"{i}: {german}", width), i) for i, (german, _) in enumerate(pairs[:max_items])]


def alignment_of(translator: Translator, text: str, beam_size: int = 1, max_len: int = 50) -> Alignment:
    """Translate `text` with an attention model and keep the attention weights of every output step."""
    if not isinstance(translator, Translator):
        raise TypeError(f"Expected a seq2seq_lib Translator, got {type(translator).__name__}.")
    if not has_attention(translator.model):
        raise TypeError("This Translator's model has no attention (the classic encoder-decoder reads one "
                        "context vector), so there is nothing to show; use a model from "
                        "models.build_model(replace(config, attention=True), ...) or a checkpoint trained "
                        "with attention.")
    result = translator.translate(text, beam_size=beam_size, max_len=max_len, details=True)
    weights = result.attention.float().numpy()
    return Alignment(list(result.source), result.output_labels, weights, result.text)


def strongest_links(alignment: Alignment) -> list[tuple[str, str, float]]:
    """For each output token, the source token it read most and that weight.

    >>> a = Alignment(["<sos>", "hund", "<eos>"], ["dog", "<eos>"], np.array([[.1, .8, .1], [.1, .2, .7]]), "dog")
    >>> strongest_links(a)
    [('dog', 'hund', 0.8), ('<eos>', '<eos>', 0.7)]
    """
    best = alignment.weights.argmax(axis=1)
    return [(word, alignment.source[j], round(float(alignment.weights[i, j]), 4))
            for i, (word, j) in enumerate(zip(alignment.output, best))]


def describe(alignment: Alignment, german: str | None = None, reference: str | None = None) -> str:
    """A few lines of text: the sentence, its reference, the model's output and where each word looked."""
    lines = []
    if german is not None:
        lines.append(f"German   : {german}")
    if reference is not None:
        lines.append(f"Reference: {reference}")
    lines.append(f"Model    : {alignment.text}")
    links = ", ".join(f"{word} <- {source} ({weight:.0%})" for word, source, weight in strongest_links(alignment))
    lines.append(f"Most attended source token per output token: {links}")
    return "\n".join(lines)


def explorer_view(translator: Translator, pairs: Sequence[tuple[str, str]], index: int,
                  beam_size: int = 1) -> tuple[Alignment, str]:
    """The alignment of sentence `index` of `pairs` and its description, for the explorer's output."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(pairs):
        raise IndexError(f"index must be an integer in [0, {len(pairs)}), got {index!r}.")
    german, english = pairs[index]
    alignment = alignment_of(translator, german, beam_size)
    return alignment, describe(alignment, german, english)


__all__ = ["Alignment", "sentence_choices", "alignment_of", "strongest_links", "describe", "explorer_view"]

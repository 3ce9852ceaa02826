"""Figures for the notebooks: each function takes plain data, draws on `ax` and returns the Axes.

Pass `ax` to draw into a figure of your own (for example one panel of `plt.subplots(1, 2)`);
leave it out and a new figure is made. The numbers behind a plot come from small pure functions
(`vocab_sizes`, `rank_frequency`) that the notebooks can print and assert on.

Data plots (notebooks 01-03): sentence lengths, vocabulary size against `min_freq`, Zipf's law,
padding.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from .config import SPECIALS

TOKEN_COLOR, PAD_COLOR = "#4c72b0", "#f0b27a"

# ---------------------------------------------------------------- checks shared by the plots


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()) or None, "
                        f"got {type(ax).__name__}.")
    return ax


def _color(index: int) -> str:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return cycle[index % len(cycle)]


def _check_named(data: object, what: str, example: str) -> None:
    if not isinstance(data, Mapping) or len(data) == 0:
        raise ValueError(f"Expected a non-empty dict of {what}, e.g. {example}; got {type(data).__name__}.")
    for name in data:
        if not isinstance(name, str):
            raise TypeError(f"Names of the {what} must be strings (they label the legend), got {name!r}.")


def _check_counts(values: object, name: str, what: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name}: expected a list of {what}, got {type(values).__name__}.")
    values = list(values)
    if not values:
        raise ValueError(f"{name}: the list of {what} is empty; is the data split empty?")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, Integral) or v < 0]
    if bad:
        raise ValueError(f"{name}: {what} must be non-negative integers, found {bad[0]!r}.")
    return [int(v) for v in values]


def _check_counter(counts: object, name: str) -> Mapping[str, int]:
    if not isinstance(counts, Mapping) or len(counts) == 0:
        raise ValueError(f"{name}: expected a non-empty token -> count mapping such as a "
                         f"collections.Counter, got {type(counts).__name__}.")
    _check_counts(counts.values(), name, "token counts")
    return counts


# ---------------------------------------------------------------- sentence lengths


def plot_length_histograms(lengths: Mapping[str, Sequence[int]], ax: Axes | None = None,
                           title: str = "Sentence lengths") -> Axes:
    """One histogram per language of tokens per sentence, with its mean marked by a dashed line."""
    _check_named(lengths, "sentence lengths per language", "{'German': [12, 9], 'English': [11, 10]}")
    checked = {name: _check_counts(values, name, "sentence lengths") for name, values in lengths.items()}
    ax = _axes(ax, (7, 3.8))
    longest = max(max(values) for values in checked.values())
    bins = np.arange(0.5, longest + 1.5)  # one bin per whole length
    for index, (name, values) in enumerate(checked.items()):
        color = _color(index)
        mean = float(np.mean(values))
        ax.hist(values, bins=bins, histtype="stepfilled", alpha=0.3, color=color)
        ax.hist(values, bins=bins, histtype="step", linewidth=1.5, color=color,
                label=f"{name}: mean {mean:.1f}, max {max(values)}")
        ax.axvline(mean, color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("tokens per sentence")
    ax.set_ylabel("sentences")
    ax.set_title(title)
    ax.legend()
    return ax


# ---------------------------------------------------------------- vocabulary size


def vocab_sizes(counts: Mapping[str, int], min_freqs: Iterable[int], max_size: int | None = None,
                specials: Sequence[str] = SPECIALS) -> dict[int, int]:
    """Size `Vocab.build` would give for each `min_freq`: specials + tokens seen >= min_freq times.

    As in `Vocab.build`, `max_size` caps the ordinary tokens and does not count the specials.

    >>> from collections import Counter
    >>> vocab_sizes(Counter({"a": 3, "dog": 2, "cat": 1}), [1, 2, 3, 4])
    {1: 7, 2: 6, 3: 5, 4: 4}
    >>> vocab_sizes(Counter({"a": 3, "dog": 2, "cat": 1}), [1], max_size=2)
    {1: 6}
    """
    _check_counter(counts, "counts")
    min_freqs = _check_counts(min_freqs, "min_freqs", "minimum frequencies")
    if min(min_freqs) < 1:
        raise ValueError("min_freqs must be >= 1 (1 keeps every token that appears).")
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0):
        raise ValueError(f"max_size must be None or an integer >= 0, got {max_size!r}.")
    ordinary = np.array([c for token, c in counts.items() if token not in specials])
    sizes = {}
    for min_freq in min_freqs:
        kept = int((ordinary >= min_freq).sum())
        sizes[min_freq] = len(specials) + (kept if max_size is None else min(kept, max_size))
    return sizes


def plot_vocab_sizes(counts: Mapping[str, Mapping[str, int]], min_freqs: Iterable[int] = range(1, 11),
                     max_size: int | None = None, chosen: int | None = None, ax: Axes | None = None,
                     specials: Sequence[str] = SPECIALS) -> Axes:
    """Vocabulary size against `min_freq`, one line per language; `chosen` marks the setting in use."""
    _check_named(counts, "token counts per language", "{'German': Counter(...), 'English': Counter(...)}")
    min_freqs = _check_counts(min_freqs, "min_freqs", "minimum frequencies")
    if chosen is not None and chosen not in min_freqs:
        raise ValueError(f"chosen={chosen!r} is not one of the plotted min_freqs {min_freqs}.")
    ax = _axes(ax, (7, 3.8))
    for index, (name, counter) in enumerate(counts.items()):
        color = _color(index)
        sizes = vocab_sizes(_check_counter(counter, name), min_freqs, max_size, specials)
        label = name if chosen is None else f"{name}: {sizes[chosen]:,} at min_freq={chosen}"
        ax.plot(list(sizes), list(sizes.values()), marker="o", color=color, label=label)
    if chosen is not None:
        ax.axvline(chosen, color="grey", linestyle=":", label="the min_freq in use")
    if max_size is not None:
        ax.axhline(max_size + len(specials), color="grey", linestyle="--",
                   label=f"max_size={max_size:,} (+{len(specials)} specials)")
    ax.set_xticks(min_freqs)
    ax.set_xlabel("min_freq (keep tokens seen at least this often)")
    ax.set_ylabel("vocabulary size")
    ax.set_ylim(bottom=0)
    ax.set_title("Vocabulary size against min_freq")
    ax.legend()
    return ax


# ---------------------------------------------------------------- Zipf's law


def rank_frequency(counts: Mapping[str, int]) -> list[int]:
    """Token counts from the most to the least frequent (rank 1 first).

    >>> rank_frequency({"dog": 2, "a": 5, "cat": 1})
    [5, 2, 1]
    """
    _check_counter(counts, "counts")
    return sorted((int(c) for c in counts.values()), reverse=True)


def plot_zipf(counts: Mapping[str, Mapping[str, int]], ax: Axes | None = None, label_top: int = 3) -> Axes:
    """Rank-frequency curves on log-log axes with the Zipf line f(r) = f(1) / r for the first language.

    The legend names each language's `label_top` most frequent tokens.
    """
    _check_named(counts, "token counts per language", "{'German': Counter(...), 'English': Counter(...)}")
    if isinstance(label_top, bool) or not isinstance(label_top, int) or label_top < 0:
        raise ValueError(f"label_top must be an integer >= 0, got {label_top!r}.")
    ax = _axes(ax, (7, 4.2))
    for index, (name, counter) in enumerate(counts.items()):
        color = _color(index)
        freqs = rank_frequency(_check_counter(counter, name))
        top = sorted(counter, key=lambda token: (-counter[token], token))[:label_top]
        label = f"{name}: {len(freqs):,} distinct" + (f"; top {', '.join(map(repr, top))}" if top else "")
        ax.loglog(np.arange(1, len(freqs) + 1), freqs, color=color, linewidth=1.8, label=label)
    ranks = np.array([1, max(len(counter) for counter in counts.values())])
    top_count = rank_frequency(next(iter(counts.values())))[0]
    ax.loglog(ranks, top_count / ranks, color="grey", linestyle="--", linewidth=1,
              label="Zipf: frequency ∝ 1 / rank")
    ax.set_xlabel("rank (1 = most frequent)")
    ax.set_ylabel("count")
    ax.set_title("Zipf's law: a few tokens are everywhere, most are rare")
    ax.legend()
    return ax


# ---------------------------------------------------------------- padding


def plot_padding_comparison(fractions: Mapping[str, float], ax: Axes | None = None) -> Axes:
    """Stacked bars of real tokens against padding, one bar per batching strategy."""
    _check_named(fractions, "padding fractions per strategy", "{'random': 0.47, 'bucketed': 0.11}")
    for name, value in fractions.items():
        if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}: a padding fraction is a number in [0, 1], got {value!r}; "
                             "use batching.padding_fraction(batches, pad_idx).")
    ax = _axes(ax, (6, 3.8))
    names = list(fractions)
    padding = np.array([float(fractions[name]) for name in names])
    ax.bar(names, 1 - padding, color=TOKEN_COLOR, label="real tokens")
    ax.bar(names, padding, bottom=1 - padding, color=PAD_COLOR, label="<pad>")
    for x, share in enumerate(padding):
        ax.text(x, 1 - share / 2 if share > 0.08 else 1 - share - 0.04, f"{share:.1%} padding",
                ha="center", va="center", color="black")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of tensor entries")
    ax.set_title("How much of each batch is padding")
    ax.legend(loc="lower right")
    return ax


def plot_padding_mask(batch: object, pad_idx: int, ax: Axes | None = None, title: str | None = None,
                      legend: bool = True) -> Axes:
    """Picture of a (seq_len, batch) id tensor, one column per sentence: tokens blue, `<pad>` orange."""
    if isinstance(pad_idx, bool) or not isinstance(pad_idx, Integral):
        raise TypeError(f"pad_idx must be an integer id (vocab['<pad>'], usually 1), got {pad_idx!r}.")
    if hasattr(batch, "src") and not hasattr(batch, "shape"):
        raise TypeError(f"Pass one id tensor, not the {type(batch).__name__}: e.g. plot_padding_mask(batch.src, "
                        "pad_idx) or batch.trg.")
    if hasattr(batch, "detach"):  # a torch tensor, possibly on a GPU
        batch = batch.detach().cpu().numpy()
    ids = np.asarray(batch)
    if ids.ndim != 2 or ids.size == 0:
        raise ValueError(f"Expected a non-empty 2-D (seq_len, batch) array of ids, got shape {ids.shape}.")
    real = ids != pad_idx
    ax = _axes(ax, (6, 3.8))
    ax.imshow(real, aspect="auto", cmap=ListedColormap([PAD_COLOR, TOKEN_COLOR]), vmin=0, vmax=1,
              interpolation="nearest")
    if legend:
        ax.legend(handles=[Patch(color=TOKEN_COLOR, label="token"), Patch(color=PAD_COLOR, label="<pad>")],
                  loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlabel(f"sentence in the batch (batch = {ids.shape[1]})")
    ax.set_ylabel(f"time step (seq_len = {ids.shape[0]})")
    share = 1 - real.mean()
    ax.set_title(f"{title + ': ' if title else ''}{share:.0%} padding")
    return ax


# ---------------------------------------------------------------- attention (notebook 09)


def _attention_array(weights: object) -> np.ndarray:
    """(T, S) float array of attention weights from a tensor or array; clear errors otherwise."""
    if hasattr(weights, "attention") and not hasattr(weights, "shape"):
        raise TypeError(f"Pass the weights, not the {type(weights).__name__}: e.g. plot_attention("
                        "translation.attention, translation.source, translation.output_labels).")
    if hasattr(weights, "detach"):  # a torch tensor, possibly on a GPU or in bf16
        weights = weights.detach().float().cpu().numpy()
    array = np.asarray(weights, dtype=float)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"Expected a non-empty 2-D (output_len, source_len) array of attention weights, "
                         f"got shape {array.shape}; take one sentence's weights, e.g. "
                         "translation.attention or decoded.attention[i].")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1 + 1e-6:
        raise ValueError("Attention weights are probabilities in [0, 1]; these are not (did you pass the "
                         "scores before the softmax?).")
    return array


def _check_labels(labels: object, size: int, name: str, axis: str) -> list[str]:
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"{name} must be a list of tokens, got {type(labels).__name__}.")
    if len(labels) != size:
        raise ValueError(f"{name} has {len(labels)} tokens but the weights have {size} {axis}; "
                         "pass one label per " + ("row (output token)." if axis == "rows" else
                                                  "column (source token, with <sos> and <eos>)."))
    return [str(label) for label in labels]


def plot_attention(weights: object, source_tokens: Sequence[str], output_tokens: Sequence[str],
                   ax: Axes | None = None, title: str | None = None, annotate: bool = False,
                   colorbar: bool = True) -> Axes:
    """Heatmap of one sentence's attention: a row per output token, a column per source token.

    Row i shows where the decoder looked while writing output token i; each row sums to 1.
    `annotate=True` writes every weight into its cell (readable for short sentences).
    """
    array = _attention_array(weights)
    columns = _check_labels(source_tokens, array.shape[1], "source_tokens", "columns")
    rows = _check_labels(output_tokens, array.shape[0], "output_tokens", "rows")
    width, height = 1.2 + 0.45 * len(columns), 1.0 + 0.4 * len(rows)
    ax = _axes(ax, (min(max(width, 4.0), 14.0), min(max(height, 3.0), 12.0)))
    image = ax.imshow(array, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("source (German)")
    ax.set_ylabel("output (English)")
    if annotate:
        for (i, j), value in np.ndenumerate(array):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 else "black")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="attention weight")
    if title:
        ax.set_title(title)
    return ax


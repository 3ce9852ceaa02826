"""Data plots: the numbers behind them, what they draw, and clear errors for bad input."""
from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from seq2seq_lib import plots  # noqa: E402
from seq2seq_lib.vocab import Vocab  # noqa: E402

TOKENS = [["a", "dog", "runs", "."], ["a", "cat", "runs", "."], ["a", "dog", "."], ["the", "end"]]
COUNTS = Counter(token for sentence in TOKENS for token in sentence)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("min_freq", [1, 2, 3, 4])
@pytest.mark.parametrize("max_size", [None, 0, 2, 100])
def test_vocab_sizes_match_vocab_build(min_freq, max_size):
    expected = len(Vocab.build(TOKENS, min_freq=min_freq, max_size=max_size))
    assert plots.vocab_sizes(COUNTS, [min_freq], max_size=max_size) == {min_freq: expected}


def test_vocab_sizes_never_grow_with_min_freq():
    sizes = list(plots.vocab_sizes(COUNTS, range(1, 6)).values())
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 4  # only the specials remain


def test_vocab_sizes_skip_specials_in_counts():
    counts = Counter({"<pad>": 50, "a": 3})
    assert plots.vocab_sizes(counts, [1]) == {1: 5}


def test_rank_frequency_sorted_descending():
    assert plots.rank_frequency(COUNTS) == sorted(COUNTS.values(), reverse=True)
    assert plots.rank_frequency(COUNTS)[0] == COUNTS["a"]


def test_length_histograms_one_pair_of_histograms_per_language():
    ax = plots.plot_length_histograms({"German": [3, 4, 4, 9], "English": [2, 5, 5]})
    assert ax.get_xlabel() == "tokens per sentence"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["German: mean 5.0, max 9", "English: mean 4.0, max 5"]
    assert len(ax.patches) == 4  # filled + outline histogram per language
    assert len(ax.lines) == 2  # the two mean lines
    assert [line.get_xdata()[0] for line in ax.lines] == [5.0, 4.0]


def test_plots_draw_into_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    returned = plots.plot_zipf({"English": COUNTS}, ax=axes[1])
    assert returned is axes[1]
    assert returned.figure is fig


def test_vocab_size_plot_lines_and_marker():
    counts = {"German": COUNTS, "English": Counter({"a": 5, "b": 1})}
    ax = plots.plot_vocab_sizes(counts, min_freqs=[1, 2, 3], chosen=2, max_size=3)
    german, english = ax.lines[:2]
    assert list(german.get_ydata()) == list(plots.vocab_sizes(COUNTS, [1, 2, 3], max_size=3).values())
    assert list(english.get_ydata()) == [6, 5, 5]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0].startswith("German: 7 at min_freq=2") and "max_size=3" in labels[-1]


def test_zipf_is_log_log_with_reference_line():
    ax = plots.plot_zipf({"English": COUNTS}, label_top=2)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    curve, zipf = ax.lines
    assert list(curve.get_ydata()) == plots.rank_frequency(COUNTS)
    assert zipf.get_ydata()[0] == COUNTS["a"]
    assert ax.get_legend().get_texts()[0].get_text() == "English: 7 distinct; top '.', 'a'"  # tie: alphabetical


def test_padding_comparison_bars_add_up_to_one():
    ax = plots.plot_padding_comparison({"random": 0.5, "bucketed": 0.04})
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == pytest.approx([0.5, 0.96, 0.5, 0.04])
    assert any("4.0% padding" in text.get_text() for text in ax.texts)


def test_padding_mask_marks_pad_entries():
    batch = torch.tensor([[2, 2, 2], [5, 6, 3], [3, 1, 1]])
    ax = plots.plot_padding_mask(batch, pad_idx=1, title="toy")
    image = ax.images[0].get_array()
    assert np.array_equal(np.asarray(image), (batch != 1).numpy())
    assert ax.get_title() == "toy: 22% padding"
    assert plots.plot_padding_mask([[1, 2]], pad_idx=1, legend=False).get_legend() is None


@pytest.mark.parametrize("call, error, message", [
    (lambda: plots.plot_length_histograms({}), ValueError, "non-empty dict"),
    (lambda: plots.plot_length_histograms([[1, 2]]), ValueError, "non-empty dict"),
    (lambda: plots.plot_length_histograms({"German": []}), ValueError, "empty"),
    (lambda: plots.plot_length_histograms({"German": [3, -1]}), ValueError, "non-negative"),
    (lambda: plots.plot_length_histograms({"German": "abc"}), TypeError, "list of sentence lengths"),
    (lambda: plots.plot_length_histograms({1: [3]}), TypeError, "strings"),
    (lambda: plots.plot_length_histograms({"German": [3]}, ax="left"), TypeError, "Axes"),
    (lambda: plots.vocab_sizes({}, [1]), ValueError, "Counter"),
    (lambda: plots.vocab_sizes(COUNTS, [0]), ValueError, ">= 1"),
    (lambda: plots.vocab_sizes(COUNTS, [1], max_size=-1), ValueError, "max_size"),
    (lambda: plots.plot_vocab_sizes({"German": COUNTS}, min_freqs=[1, 2], chosen=5), ValueError, "chosen"),
    (lambda: plots.plot_vocab_sizes({"German": ["a", "b"]}), ValueError, "Counter"),
    (lambda: plots.rank_frequency({"a": 1.5}), ValueError, "non-negative integers"),
    (lambda: plots.plot_zipf({"English": COUNTS}, label_top=-1), ValueError, "label_top"),
    (lambda: plots.plot_padding_comparison({"random": 1.5}), ValueError, r"\[0, 1\]"),
    (lambda: plots.plot_padding_mask(torch.tensor([1, 2, 3]), pad_idx=1), ValueError, "2-D"),
    (lambda: plots.plot_padding_mask(torch.ones(2, 2), pad_idx="<pad>"), TypeError, "pad_idx"),
])
def test_bad_input_fails_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call()

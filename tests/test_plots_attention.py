"""Attention heatmaps: one cell per (output token, source token), labelled axes, clear errors."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from seq2seq_lib.plots import plot_attention  # noqa: E402

SOURCE = ["<sos>", "ein", "hund", ".", "<eos>"]
OUTPUT = ["a", "dog", ".", "<eos>"]
WEIGHTS = torch.softmax(torch.arange(20, dtype=torch.float32).view(4, 5) % 3, dim=1)  # (T, S)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_heatmap_shows_the_weights_with_tokens_on_the_axes():
    ax = plot_attention(WEIGHTS, SOURCE, OUTPUT, title="one sentence")
    image = ax.get_images()[0]
    assert np.allclose(image.get_array(), WEIGHTS.numpy())
    assert image.get_clim() == (0.0, 1.0)  # colours comparable across sentences
    assert [t.get_text() for t in ax.get_xticklabels()] == SOURCE
    assert [t.get_text() for t in ax.get_yticklabels()] == OUTPUT
    assert ax.get_title() == "one sentence"
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar


def test_annotations_and_a_given_axes():
    _, (left, right) = plt.subplots(1, 2)
    ax = plot_attention(WEIGHTS.numpy(), SOURCE, OUTPUT, ax=right, annotate=True, colorbar=False)
    assert ax is right and not left.get_images()
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == WEIGHTS.numel() and texts[0] == f"{WEIGHTS[0, 0].item():.2f}"


def test_bf16_tensor_is_accepted():
    ax = plot_attention(WEIGHTS.to(torch.bfloat16), SOURCE, OUTPUT, colorbar=False)
    assert ax.get_images()[0].get_array().shape == (4, 5)


@pytest.mark.parametrize("weights, source, output, error, match", [
    (WEIGHTS[0], SOURCE, OUTPUT, ValueError, "2-D"),
    (WEIGHTS * 5, SOURCE, OUTPUT, ValueError, "before the softmax"),
    (-WEIGHTS, SOURCE, OUTPUT, ValueError, "probabilities"),
    (WEIGHTS, SOURCE[1:], OUTPUT, ValueError, "source_tokens has 4 tokens but the weights have 5 columns"),
    (WEIGHTS, SOURCE, OUTPUT[:-1], ValueError, "output_tokens has 3 tokens"),
    (WEIGHTS, "ein hund", OUTPUT, TypeError, "list of tokens"),
])
def test_bad_input_fails_with_a_clear_message(weights, source, output, error, match):
    with pytest.raises(error, match=match):
        plot_attention(weights, source, output)


def test_bad_axes_is_refused():
    with pytest.raises(TypeError, match="Axes"):
        plot_attention(WEIGHTS, SOURCE, OUTPUT, ax="left")


def test_whole_objects_where_one_tensor_belongs_name_the_field_to_pass():

    from seq2seq_lib.batching import Batch
    from seq2seq_lib.curves import plot_history
    from seq2seq_lib.history import History
    from seq2seq_lib.plots import plot_padding_mask
    from seq2seq_lib.translator import Translation

    translation = Translation("a dog", ["a", "dog"], ["<sos>", "hund", "<eos>"], -1.0, True, torch.full((3, 3), 1 / 3))
    with pytest.raises(TypeError, match=r"plot_attention\(translation.attention, translation.source"):
        plot_attention(translation, translation.source, translation.output_labels)
    batch = Batch(torch.ones(3, 2, dtype=torch.long), torch.tensor([3, 3]), torch.ones(2, 2, dtype=torch.long),
                  torch.tensor([2, 2]))
    with pytest.raises(TypeError, match=r"plot_padding_mask\(batch.src, pad_idx\)"):
        plot_padding_mask(batch, 1)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="pass two axes"):
        plot_history(History(train_loss=[2.0], val_loss=[1.5], val_loss_free_running=[1.8]), ax)
    plt.close("all")

"""The attention-head explorer: every layer's and head's maps of a translated sentence, the views the
menus pick, their descriptions, and the wired widget reacting to its menus."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.translator import Translator
from seq2seq_lib.widgets.head_explorer import (
    EVERY_TOKEN, MEAN, HeadMaps, HeadView, describe_view, draw_view, explorer_view, head_choices, head_explorer,
    head_maps, head_summary, head_view, layer_choices, strongest, summary_text, token_choices, token_view,
)
from tolerance import FP32

SENTENCE = "Zwei Männer spielen Fußball im Park."
SOURCE = ["<sos>", "zwei", "männer", "spielen", "fußball", "im", "park", ".", "<eos>"]
LAYERS, HEADS = 2, 4


def transformer_translator(sample_data, seed: int = 0, **changes) -> Translator:
    torch.manual_seed(seed)
    sizes = {"emb_dim": 16, "hidden_dim": 32, "n_layers": LAYERS, "n_heads": HEADS, "dropout": 0.0}
    config = ModelConfig(transformer=True, **{**sizes, **changes})
    model = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    return Translator(model, sample_data.src_field, sample_data.trg_field)


def test_the_module_is_not_hidden_by_its_function():
    import importlib

    module = importlib.import_module("seq2seq_lib.widgets.head_explorer")
    import seq2seq_lib.widgets.head_explorer as explorer_module

    assert explorer_module is module and explorer_module.head_explorer is head_explorer


@pytest.fixture(scope="module")
def translator(sample_data):
    return transformer_translator(sample_data)


@pytest.fixture(scope="module")
def maps(translator):
    return head_maps(translator, SENTENCE, max_len=7)


def test_maps_hold_every_layer_and_head_and_rows_are_distributions(maps):
    S, T = len(SOURCE), len(maps.output)
    assert maps.source == SOURCE and T == 7
    assert maps.encoder.shape == (LAYERS, HEADS, S, S) and maps.cross.shape == (LAYERS, HEADS, T, S)
    assert (maps.n_layers, maps.n_heads) == (LAYERS, HEADS)
    for stack in (maps.encoder, maps.cross):
        assert np.allclose(stack.sum(axis=-1), 1.0, atol=1e-5) and (stack >= 0).all()
    assert not np.allclose(maps.encoder[0, 0], maps.encoder[0, 1])  # the heads differ


@pytest.mark.parametrize("beam_size", [1, 3])
def test_last_layers_mean_over_heads_is_the_translations_attention(translator, beam_size):
    """The maps come from the sentence the decoder wrote, so they reproduce what it reported step by step."""
    result = translator.translate(SENTENCE, beam_size=beam_size, max_len=7, details=True)
    maps = head_maps(translator, SENTENCE, beam_size=beam_size, max_len=7)
    assert maps.text == result.text and maps.output == result.output_labels
    torch.testing.assert_close(torch.from_numpy(maps.cross[-1].mean(axis=0)), result.attention.float(), **FP32)


def test_the_decoder_inputs_end_before_eos_when_the_model_stops(sample_data):
    translator = transformer_translator(sample_data)
    with torch.no_grad():
        translator.model.decoder.fc_out.bias[translator.eos_idx] = 50.0  # <eos> at once
    result = translator.translate(SENTENCE, details=True)
    maps = head_maps(translator, SENTENCE)
    assert result.ended and maps.output == ["<eos>"] and maps.cross.shape[2] == 1
    torch.testing.assert_close(torch.from_numpy(maps.cross[-1].mean(axis=0)), result.attention.float(), **FP32)


def test_maps_agree_with_the_models_own_attention_maps(translator, maps):
    src = torch.tensor(translator.src_field.vocab.lookup_indices(SOURCE)).unsqueeze(1)
    trg_in = torch.tensor([translator.sos_idx] + translator.trg_field.vocab.lookup_indices(maps.output[:-1]))
    with torch.no_grad():
        encoder, cross = translator.model.eval().attention_maps(src, trg_in.unsqueeze(1))
    for layer in range(LAYERS):
        torch.testing.assert_close(torch.from_numpy(maps.encoder[layer]), encoder[layer][0], **FP32)
        torch.testing.assert_close(torch.from_numpy(maps.cross[layer]), cross[layer][0], **FP32)


def test_an_rnn_or_a_bare_model_is_refused(sample_data):
    config = ModelConfig(emb_dim=16, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru", attention=True)
    rnn = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    with pytest.raises(TypeError, match="not a Transformer"):
        head_maps(Translator(rnn, sample_data.src_field, sample_data.trg_field), SENTENCE)
    with pytest.raises(TypeError, match="Translator"):
        head_maps(rnn, SENTENCE)


def test_maps_check_their_shapes():
    with pytest.raises(ValueError, match="len\\(source\\)"):
        HeadMaps(["a", "b"], ["x"], np.ones((1, 1, 3, 3)), np.ones((1, 1, 1, 3)), "x")
    with pytest.raises(ValueError, match="cross must be"):
        HeadMaps(["a", "b"], ["x"], np.ones((1, 1, 2, 2)), np.ones((1, 2, 1, 2)), "x")


def test_head_view_picks_one_head_or_their_mean(maps):
    view = head_view(maps, "encoder", layer=1, head=2)
    np.testing.assert_array_equal(view.weights, maps.encoder[1, 2])
    assert view.rows == view.columns == SOURCE
    assert view.title == "encoder self-attention, layer 2 of 2, head 3 of 4"
    mean = head_view(maps, "cross", layer=0, head=MEAN)
    np.testing.assert_allclose(mean.weights, maps.cross[0].mean(axis=0), rtol=1e-6, atol=1e-7)
    assert mean.rows == maps.output and mean.columns == SOURCE and "mean of the 4 heads" in mean.title
    assert mean.row_axis == "output (English)" and mean.column_axis == "source (German)"


def test_token_view_follows_one_token_through_every_head(maps):
    view = token_view(maps, "cross", layer=1, token=2)
    assert view.rows == ["head 1", "head 2", "head 3", "head 4", "mean"]
    np.testing.assert_array_equal(view.weights[:HEADS], maps.cross[1, :, 2])
    np.testing.assert_allclose(view.weights[-1], maps.cross[1, :, 2].mean(axis=0), rtol=1e-6, atol=1e-7)
    assert repr(maps.output[2]) in view.title
    encoder_view = token_view(maps, "encoder", layer=0, token=1)
    np.testing.assert_array_equal(encoder_view.weights[:HEADS], maps.encoder[0, :, 1])
    assert "'zwei'" in encoder_view.title


@pytest.mark.parametrize("call, match", [
    (lambda m: head_view(m, "decoder", 0, 0), "kind must be one of"),
    (lambda m: head_view(m, "cross", 2, 0), "layer must be an integer from 0 to 1"),
    (lambda m: head_view(m, "cross", -1, 0), "layer"),
    (lambda m: head_view(m, "cross", 0, 4), "head must be an integer from 0 to 3"),
    (lambda m: head_view(m, "cross", 0, "all"), "head"),
    (lambda m: head_view(m, "cross", True, 0), "layer"),
    (lambda m: token_view(m, "cross", 0, 7), "token must be an integer from 0 to 6"),
    (lambda m: token_view(m, "encoder", 0, 9), "token must be an integer from 0 to 8"),
])
def test_bad_choices_say_what_is_allowed(maps, call, match):
    with pytest.raises(ValueError, match=match):
        call(maps)


def test_descriptions_name_each_rows_strongest_column():
    view = HeadView(np.array([[0.1, 0.9], [0.6, 0.4]]), ["a", "<eos>"], ["hund", "<eos>"], "out", "src", "T")
    assert strongest(view) == [("a", "<eos>", 0.9), ("<eos>", "hund", 0.6)]
    text = describe_view(view)
    assert text.splitlines() == ["T: the most-read token takes 75% of a row on average (uniform: 50%)",
                                 "a <- <eos> (90%), <eos> <- hund (60%)"]


def test_head_summary_finds_a_previous_token_head():
    S = 5
    previous = np.eye(S, k=-1)
    previous[0, 0] = 1.0  # the first token has no previous one: it reads itself
    uniform = np.full((S, S), 1 / S)
    encoder = np.stack([previous, uniform])[None]  # (1, 2, S, S)
    maps = HeadMaps([f"w{i}" for i in range(S)], ["x"], encoder, np.full((1, 2, 1, S), 1 / S), "x")
    first, second = head_summary(maps, "encoder", 0)
    assert first == {"head": 1, "sharpness": 1.0, "offset": -1, "share": 0.8}
    assert second["sharpness"] == pytest.approx(0.2)
    assert head_summary(maps, "cross", 0) == [{"head": 1, "sharpness": 0.2}, {"head": 2, "sharpness": 0.2}]
    assert summary_text(maps, "encoder", 0).splitlines()[0] == (
        "head 1: its most-read token gets 100% of a row on average; that token is most often at offset -1 "
        "from the reader (80% of the rows)")


def test_menu_options_are_label_value_pairs(maps):
    assert layer_choices(2) == [("layer 1", 0), ("layer 2", 1)]
    assert head_choices(2) == [("head 1", 0), ("head 2", 1), ("mean of the 2 heads", MEAN)]
    choices = token_choices(maps, "encoder")
    assert choices[0] == (EVERY_TOKEN, EVERY_TOKEN) and choices[1] == ("1: <sos>", 0) and len(choices) == 10


def test_explorer_view_switches_between_a_head_and_a_token(maps):
    view, text = explorer_view(maps, "cross", 1, 0)
    assert view.rows == maps.output and text.startswith(f"Model: {maps.text}\n")
    view, text = explorer_view(maps, "cross", 1, 0, token=3)
    assert view.rows[-1] == "mean" and "every head" in text


def test_draw_view_labels_its_axes(maps):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = draw_view(head_view(maps, "encoder", 0, 1))
    assert ax.get_ylabel() == "source token attending (German)" and ax.get_xlabel() == "source (German)"
    assert [t.get_text() for t in ax.get_yticklabels()] == SOURCE
    plt.close(ax.figure)


def _controls(box):
    """The explorer's controls by their CSS class, e.g. 'head' for seq2seq-head-head."""
    found, stack = {}, [box]
    while stack:
        widget = stack.pop()
        for name in widget._dom_classes:
            found[name.replace("seq2seq-head-", "")] = widget
        stack.extend(getattr(widget, "children", ()))
    return found


def test_the_widget_redraws_when_a_menu_changes(translator, sample_data):
    import matplotlib

    matplotlib.use("Agg")
    pairs = sample_data.pairs["test"]
    other = transformer_translator(sample_data, seed=1, n_heads=2)
    box = head_explorer({"first": translator, "second": other}, pairs, index=1)
    controls = _controls(box)
    assert {"explorer", "model", "sentence", "kind", "layer", "head", "token", "text", "figure"} <= set(controls)
    text = controls["text"]
    first = text.value
    assert "decoder cross-attention, layer 1 of 2, head 1 of 4" in first and "&lt;" in first  # escaped <eos>
    controls["head"].value = 2
    assert "head 3 of 4" in text.value and text.value != first
    controls["layer"].value = 1
    controls["kind"].value = "encoder"
    assert "encoder self-attention, layer 2 of 2, head 3 of 4" in text.value
    controls["token"].value = 1
    assert "every head for" in text.value and controls["head"].disabled
    controls["head"].value = MEAN  # ignored while one token's view is shown
    assert "every head for" in text.value
    controls["model"].value = "second"  # two heads: the menus follow the model
    assert [value for _, value in controls["head"].options] == [0, 1, MEAN]
    assert controls["token"].value == EVERY_TOKEN and "mean of the 2 heads" in text.value
    controls["sentence"].value = 0
    german = pairs[0][0].lower().split()[0]
    assert german in text.value


def test_the_widget_refuses_what_it_cannot_show(translator, sample_data):
    pairs = sample_data.pairs["test"]
    with pytest.raises(ValueError, match="index"):
        head_explorer(translator, pairs, index=len(pairs) + 100)
    with pytest.raises(ValueError, match="non-empty"):
        head_explorer({}, pairs)
    with pytest.raises(TypeError, match="Translator of a Transformer"):
        head_explorer({"rnn": "not a translator"}, pairs)
    with pytest.raises(ValueError, match="kind"):
        head_explorer(translator, pairs, kind="self")


@pytest.mark.parametrize("count", [0, -1, True])
def test_menus_need_at_least_one_head_and_layer(count):
    with pytest.raises(ValueError, match="must be a positive integer"):
        head_choices(count)
    with pytest.raises(ValueError, match="must be a positive integer"):
        layer_choices(count)

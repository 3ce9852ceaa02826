"""The attention explorer's logic: dropdown options, one sentence's alignment, and its description."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.translator import Translator
from seq2seq_lib.widgets.attention_explorer import (
    Alignment, alignment_of, describe, explorer_view, sentence_choices, strongest_links,
)

TINY = ModelConfig(emb_dim=16, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru")


@pytest.fixture(scope="module")
def translator(sample_data):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**{**TINY.__dict__, "attention": True}),
                                  len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    return Translator(model, sample_data.src_field, sample_data.trg_field)


def test_choices_number_the_german_sentences_and_stop_at_max_items(sample_data):
    pairs = sample_data.pairs["test"]
    choices = sentence_choices(pairs, max_items=3, width=200)
    assert [index for _, index in choices] == [0, 1, 2]
    assert choices[1][0] == f"1: {pairs[1][0]}"
    long = sentence_choices([("Ein sehr langer Satz " * 10, "x")], width=20)[0][0]
    assert len(long) == 20 and long.endswith("…")


@pytest.mark.parametrize("pairs, options, match", [
    ([], {}, "non-empty"),
    ("Ein Hund.", {}, "non-empty"),
    ([("Ein Hund.", "A dog.")], {"max_items": 0}, "max_items"),
    ([("Ein Hund.", "A dog.")], {"width": True}, "width"),
])
def test_choices_refuse_bad_input(pairs, options, match):
    with pytest.raises(ValueError, match=match):
        sentence_choices(pairs, **options)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_alignment_rows_are_output_tokens_columns_source_tokens(translator, beam_size):
    text = "Zwei Männer spielen Fußball im Park."
    alignment = alignment_of(translator, text, beam_size=beam_size, max_len=7)
    result = translator.translate(text, beam_size=beam_size, max_len=7, details=True)
    assert alignment.text == result.text
    assert alignment.source == ["<sos>", "zwei", "männer", "spielen", "fußball", "im", "park", ".", "<eos>"]
    assert alignment.output == result.output_labels
    assert alignment.weights.shape == (len(alignment.output), len(alignment.source))
    assert np.allclose(alignment.weights.sum(axis=1), 1.0, atol=1e-5)
    assert (alignment.weights >= 0).all()


def test_classic_model_is_refused_with_the_reason(sample_data):
    model = build_model(TINY, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    classic = Translator(model, sample_data.src_field, sample_data.trg_field)
    with pytest.raises(TypeError, match="no attention"):
        alignment_of(classic, "Ein Hund.")
    with pytest.raises(TypeError, match="Translator"):
        alignment_of(model, "Ein Hund.")


def test_alignment_checks_its_shape():
    with pytest.raises(ValueError, match="len\\(output\\), len\\(source\\)"):
        Alignment(["<sos>", "<eos>"], ["a"], np.ones((2, 2)) / 2, "a")


def test_strongest_links_follow_the_largest_weight_per_row():
    weights = np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4], [0.0, 0.0, 1.0]])
    alignment = Alignment(["<sos>", "hund", "<eos>"], ["a", "dog", "<eos>"], weights, "a dog")
    assert strongest_links(alignment) == [("a", "hund", 0.7), ("dog", "<sos>", 0.5), ("<eos>", "<eos>", 1.0)]
    text = describe(alignment, "Ein Hund", "A dog.")
    assert text.splitlines()[:3] == ["German   : Ein Hund", "Reference: A dog.", "Model    : a dog"]
    assert "dog <- <sos> (50%)" in text


def test_explorer_view_describes_the_chosen_pair(translator, sample_data):
    pairs = sample_data.pairs["test"]
    alignment, text = explorer_view(translator, pairs, 2)
    assert f"German   : {pairs[2][0]}" in text and f"Reference: {pairs[2][1]}" in text
    assert alignment.text == translator.translate(pairs[2][0])
    for bad in (-1, len(pairs), 1.0, True):
        with pytest.raises(IndexError, match="index"):
            explorer_view(translator, pairs, bad)

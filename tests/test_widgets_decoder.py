"""The next-token widget's logic: temperature, top-k, ranking, bars, and notes for bad settings."""
from __future__ import annotations

import math

import pytest
import torch

from seq2seq_lib.utils import set_seed
from seq2seq_lib.widgets.decoder_step import (
    effective_choices, next_token_probs, next_token_view, probability_bars, top_tokens,
)
from tolerance import FP32

ITOS = ["<unk>", "<pad>", "<sos>", "<eos>", "a", "two", "dog", "."]


@pytest.fixture()
def logits() -> torch.Tensor:
    set_seed(0)
    return torch.randn(len(ITOS)) * 2


def test_temperature_one_is_plain_softmax(logits):
    torch.testing.assert_close(next_token_probs(logits), torch.softmax(logits, -1), **FP32)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 2.0, 10.0])
def test_probabilities_sum_to_one_and_keep_the_argmax(logits, temperature):
    probs = next_token_probs(logits, temperature)
    assert probs.shape == logits.shape
    assert float(probs.sum()) == pytest.approx(1.0)
    assert int(probs.argmax()) == int(logits.argmax())


def test_low_temperature_sharpens_and_high_temperature_flattens(logits):
    choices = [effective_choices(next_token_probs(logits, t)) for t in (0.05, 0.5, 1.0, 2.0, 100.0)]
    assert choices == sorted(choices)
    assert choices[0] == pytest.approx(1.0, abs=0.01)  # near 0: the argmax only
    assert choices[-1] == pytest.approx(len(ITOS), rel=0.01)  # very hot: nearly uniform


def test_top_k_keeps_the_k_largest_renormalised(logits):
    full = next_token_probs(logits)
    probs = next_token_probs(logits, top_k=3)
    kept = probs > 0
    assert int(kept.sum()) == 3
    assert set(torch.nonzero(kept).flatten().tolist()) == set(full.topk(3).indices.tolist())
    torch.testing.assert_close(probs[kept], full[kept] / full[kept].sum(), **FP32)
    assert torch.equal(next_token_probs(logits, top_k=len(ITOS)), full)
    assert torch.equal(next_token_probs(logits, top_k=1000), full)


def test_top_k_ties_keep_the_lower_ids():
    probs = next_token_probs(torch.zeros(5), top_k=2)
    assert probs.tolist() == [0.5, 0.5, 0.0, 0.0, 0.0]


def test_minus_infinity_logits_are_impossible_tokens():
    probs = next_token_probs(torch.tensor([0.0, -math.inf, 1.0]), temperature=0.5)
    assert probs[1] == 0 and float(probs.sum()) == pytest.approx(1.0)
    assert effective_choices(probs) < 2


def test_top_tokens_rank_and_name_the_tokens(logits):
    probs = next_token_probs(logits)
    rows = top_tokens(probs, ITOS, 3)
    assert [index for _, index, _ in rows] == probs.topk(3).indices.tolist()
    assert all(ITOS[index] == token for token, index, _ in rows)
    assert [p for _, _, p in rows] == sorted((p for _, _, p in rows), reverse=True)
    assert len(top_tokens(probs, ITOS, 100)) == len(ITOS)


def test_effective_choices_of_uniform_is_the_vocabulary_size():
    assert effective_choices(torch.full((1302,), 1 / 1302)) == pytest.approx(1302)


def test_bars_scale_with_probability():
    text = probability_bars([("a", 4, 0.5), ("dog", 6, 0.25), ("two", 5, 0.0001)], width=20)
    lines = text.splitlines()
    assert [line.count("█") for line in lines] == [10, 5, 0]
    assert "▏" in lines[2]  # a tiny probability still shows a sliver
    assert lines[0].endswith(" 50.00%") and lines[2].endswith("  0.01%")
    assert len({len(line) for line in lines}) == 1  # aligned columns
    assert probability_bars([]) == ""


def test_view_shows_the_argmax_bars_and_the_rest(logits):
    best = ITOS[int(logits.argmax())]
    text = next_token_view(logits, ITOS, temperature=1.0, top_k=None, max_rows=3)
    assert f"argmax (what greedy decoding picks, at any temperature): {best!r}" in text
    assert "8 of 8 tokens can be picked" in text
    assert "... and 5 more tokens" in text
    lines = text.splitlines()
    assert lines[2] == "" and len(lines) == 3 + 3 + 1  # header, blank, 3 bars, the rest
    assert [line.split()[0] for line in lines[3:6]] == [token for token, _, _ in
                                                         top_tokens(next_token_probs(logits), ITOS, 3)]


def test_view_with_top_k_lists_only_the_kept_tokens(logits):
    text = next_token_view(logits, ITOS, top_k=2)
    assert "2 of 8 tokens can be picked" in text and "more tokens" not in text
    assert len([line for line in text.splitlines() if line.endswith("%")]) == 2


@pytest.mark.parametrize("setting, message", [
    ({"temperature": 0}, "greedy decoding"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"temperature": float("nan")}, "positive number"),
    ({"top_k": 0}, "top_k must be None"),
    ({"top_k": 2.5}, "top_k must be None"),
])
def test_bad_settings_become_notes(logits, setting, message):
    text = next_token_view(logits, ITOS, **setting)
    assert text.startswith("Cannot show this setting:") and message in text


@pytest.mark.parametrize("bad, error", [
    (torch.zeros(2, len(ITOS)), "logits\\[b\\]"),
    (torch.arange(len(ITOS)), "floating point"),
    ([0.1] * len(ITOS), "torch tensor"),
    (torch.full((len(ITOS),), float("nan")), "NaN"),
    (torch.full((len(ITOS),), -math.inf), "no token is possible"),
    (torch.zeros(3), "use the target vocabulary"),
])
def test_bad_logits_raise_with_the_fix(bad, error):
    with pytest.raises((TypeError, ValueError), match=error):
        next_token_view(bad, ITOS)


def test_top_tokens_refuses_logits_in_place_of_probabilities(logits):
    with pytest.raises(ValueError, match="not logits"):
        top_tokens(logits, ITOS, 3)
    with pytest.raises(ValueError, match="target vocabulary"):
        top_tokens(next_token_probs(logits), ITOS[:-1], 3)


def test_a_vocab_stands_for_its_itos():
    from seq2seq_lib.vocab import Vocab

    vocab = Vocab(["<unk>", "a", "two"])
    assert top_tokens(torch.tensor([0.1, 0.6, 0.3]), vocab, 2) == top_tokens(torch.tensor([0.1, 0.6, 0.3]),
                                                                               vocab.itos, 2)
    assert next_token_view(torch.tensor([0.0, 2.0, 1.0]), vocab) == next_token_view(torch.tensor([0.0, 2.0, 1.0]),
                                                                                    vocab.itos)


def test_probability_bars_refuse_percentages_and_a_dict():
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        probability_bars([("a", 1, 30.0)])
    with pytest.raises(TypeError, match=r"\(token, id, probability\) triples"):
        probability_bars({"a": 0.5})

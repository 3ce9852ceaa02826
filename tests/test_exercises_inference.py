"""Exercises of notebooks 08-09: right answers pass, typical wrong answers get the hint that fits."""
from __future__ import annotations

import math

import pytest
import torch

from seq2seq_lib.models.attention import AdditiveAttention, masked_softmax
from seq2seq_lib.exercises import check
from seq2seq_lib.exercises.nb08 import (
    BEAM_SIZE, BEAMS, HYP_LENGTH, HYPOTHESES, NEXT_LOG_PROBS, REF_LENGTH, REFERENCES, brevity_penalty,
    extend_beams,
)
from seq2seq_lib.exercises.nb09 import ATTN_DIM, ENC_DIM, ENC_OUTPUTS, HIDDEN_DIM, MASK, SCORES, WEIGHTS
from seq2seq_lib.metrics import token_bleu
from seq2seq_lib.models import count_parameters
from tolerance import FP32



def verdict(name: str, answer: object):
    return check(name, answer, quiet=True)


# ---------------------------------------------------------------- 08


def test_beam_step_right_answer_pools_all_extensions():
    best = extend_beams(BEAMS, NEXT_LOG_PROBS, BEAM_SIZE)
    assert best == [("a man is", -2.2), ("a man in", -2.3)]
    assert verdict("08.beam_step", ["a man is", "a man in"])
    assert verdict("08.beam_step", best)  # (text, score) pairs are fine too
    assert verdict("08.beam_step", ("a man  is", "a man in"))


@pytest.mark.parametrize("answer, hint", [
    (["a man in", "a man is"], "higher total log-probability first"),
    (["a man is", "two men are"], "each beam separately"),
    (["two men are", "two men in"], "token's log-probability alone"),
    (["a man is"], "exactly 2"),
    (["a man is", "two men sit"], "beam score + token log-prob"),
    ("a man is", "list of the surviving"),
    ([1, 2], "list of the surviving"),
])
def test_beam_step_wrong_answers(answer, hint):
    feedback = verdict("08.beam_step", answer)
    assert not feedback and hint in feedback.hint


def test_corpus_bleu_is_not_the_mean_of_sentence_bleus():
    corpus = token_bleu(HYPOTHESES, REFERENCES)
    sentences = [token_bleu([h], [r]) for h, r in zip(HYPOTHESES, REFERENCES)]
    assert 0 in sentences and not math.isclose(corpus, sum(sentences) / len(sentences), abs_tol=1)
    assert verdict("08.corpus_bleu", corpus)
    assert verdict("08.corpus_bleu", torch.tensor(corpus))


@pytest.mark.parametrize("make_answer, hint", [
    (lambda: sum(token_bleu([h], [r]) for h, r in zip(HYPOTHESES, REFERENCES)) / len(HYPOTHESES),
     "mean of the sentence BLEUs"),
    (lambda: token_bleu(HYPOTHESES, REFERENCES) / 100, "0-100"),
    (lambda: token_bleu([[" ".join(h)] for h in HYPOTHESES], [[" ".join(r)] for r in REFERENCES]),
     "token lists"),
    (lambda: 12.0, "token_bleu(HYPOTHESES, REFERENCES)"),
    (lambda: "47", "one number"),
    (lambda: float("nan"), "one number"),
])
def test_corpus_bleu_wrong_answers(make_answer, hint):
    feedback = verdict("08.corpus_bleu", make_answer())
    assert not feedback and hint in feedback.hint


def test_brevity_penalty():
    assert brevity_penalty(HYP_LENGTH, REF_LENGTH) == pytest.approx(math.exp(1 - 10 / 9))
    assert verdict("08.brevity", math.exp(1 - REF_LENGTH / HYP_LENGTH))
    for answer, hint in [(1.0, "shorter than the references"),
                         (math.exp(1 - HYP_LENGTH / REF_LENGTH), "upside down"),
                         (HYP_LENGTH / REF_LENGTH, "plain ratio"), (0.5, "c = hypothesis tokens"),
                         ("0.89", "one number")]:
        feedback = verdict("08.brevity", answer)
        assert not feedback and hint in feedback.hint, answer


# ---------------------------------------------------------------- 09


def test_mask_right_answers():
    expected = masked_softmax(SCORES, MASK, dim=0)
    assert (expected[~MASK] == 0).all()
    torch.testing.assert_close(expected.sum(0), torch.ones(2), **FP32)
    assert verdict("09.mask", expected)
    assert verdict("09.mask", expected.tolist())
    renormalised = torch.softmax(SCORES, 0) * MASK
    assert verdict("09.mask", renormalised / renormalised.sum(0))  # zero then renormalise is the same


@pytest.mark.parametrize("make_answer, hint", [
    (lambda: torch.softmax(SCORES, dim=0), "without the mask"),
    (lambda: torch.softmax(SCORES.masked_fill(~MASK, 0.0), dim=0), "exp(0) = 1"),
    (lambda: torch.softmax(SCORES, dim=0) * MASK, "no longer sum to 1"),
    (lambda: masked_softmax(SCORES, MASK, dim=1), "dim=0"),
    (lambda: masked_softmax(SCORES, MASK, dim=0).t(), "shaped (S, B)"),
    (lambda: torch.zeros(5, 2), "mask the padded scores"),
    (lambda: "weights", "shaped (S, B)"),
])
def test_mask_wrong_answers(make_answer, hint):
    feedback = verdict("09.mask", make_answer())
    assert not feedback and hint in feedback.hint


def test_context_right_answer():
    expected = (WEIGHTS.unsqueeze(1) * ENC_OUTPUTS).sum(0)
    assert verdict("09.context", expected)
    assert verdict("09.context", torch.einsum("s,sd->d", WEIGHTS, ENC_OUTPUTS).tolist())


@pytest.mark.parametrize("make_answer, hint", [
    (lambda: ENC_OUTPUTS.sum(0), "counted equally"),
    (lambda: ENC_OUTPUTS.mean(0), "counted equally"),
    (lambda: ENC_OUTPUTS[-1], "last encoder output"),
    (lambda: ENC_OUTPUTS[1], "soft"),
    (lambda: WEIGHTS.unsqueeze(1) * ENC_OUTPUTS, "removes the S axis"),
    (lambda: torch.ones(4), "WEIGHTS @ ENC_OUTPUTS"),
])
def test_context_wrong_answers(make_answer, hint):
    feedback = verdict("09.context", make_answer())
    assert not feedback and hint in feedback.hint


def test_params_right_answer_is_the_librarys_count():
    count = count_parameters(AdditiveAttention(HIDDEN_DIM, ENC_DIM, ATTN_DIM))
    assert verdict("09.params", count)


@pytest.mark.parametrize("answer, hint", [
    (200, "no biases at all"),
    (216, "only one bias vector"),
    (217, "only one bias vector"),
    (144, "16 features"),
    (999, "three layers"),
    (208.0, "whole number"),
])
def test_params_wrong_answers(answer, hint):
    feedback = verdict("09.params", answer)
    assert not feedback and hint in feedback.hint

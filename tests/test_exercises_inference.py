"""Exercises of notebooks 08-09: right answers pass, typical wrong answers get the hint that fits."""
from __future__ import annotations

import math

import pytest
import torch

from seq2seq_lib.models.attention import AdditiveAttention, masked_softmax
from seq2seq_lib.exercises import check
from seq2seq_lib.decode import length_normalised
from seq2seq_lib.exercises.nb08 import (
    BEAM_SIZE, BEAMS, GNMT_CASES, HYP_LENGTH, HYPOTHESES, NEXT_LOG_PROBS, REF_LENGTH, REFERENCES, brevity_penalty,
    extend_beams, gnmt_penalty,
)
from seq2seq_lib.exercises.nb09 import (
    ATTN_DIM, DOT_SIZES, ENC_DIM, ENC_OUTPUTS, HIDDEN_DIM, MASK, SCORES, WEIGHTS, dot_inputs,
    reference_dot_attention, reference_dot_scores,
)
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


def test_gnmt_penalty_reference():
    assert gnmt_penalty(1, 0.6) == 1.0 and gnmt_penalty(10, 0.0) == 1.0
    assert gnmt_penalty(7, 1.0) == pytest.approx(2.0)
    for length in range(2, 40):  # gentler than the library's length ** alpha
        assert 1.0 < gnmt_penalty(length, 0.8) < length ** 0.8
    # with alpha 1 the library's length_normalised divides by the length itself
    assert length_normalised(-6.0, 3, 1.0) == pytest.approx(-6.0 / 3)


def test_gnmt_penalty_right_answers():
    assert verdict("08.gnmt_penalty", lambda length, alpha: ((5 + length) / 6) ** alpha)
    assert verdict("08.gnmt_penalty", lambda n, a: math.pow((5.0 + n) / 6.0, a))
    assert verdict("08.gnmt_penalty", lambda n, a: torch.tensor((5 + n) / 6) ** a)  # a 0-d tensor is a number
    assert verdict("08.gnmt_penalty", gnmt_penalty)


@pytest.mark.parametrize("answer, hint", [
    (lambda n, a: n ** a, "length_normalised"),
    (lambda n, a: (5 + n) / 6, "power alpha"),
    (lambda n, a: (5 + n) ** a / 6, "brackets"),
    (lambda n, a: (6 / (5 + n)) ** a, "upside down"),
    (lambda n, a: (5 + n) ** a, "divide by 6"),
    (lambda n, a: 1.0 + n * a, "Try your function"),
    (lambda n: n, "raised TypeError"),
    (lambda n, a: "1.0", "one finite number"),
    (lambda n, a: float("nan"), "one finite number"),
    (gnmt_penalty(3, 0.6), "the function itself"),
    ("((5 + n) / 6) ** a", "the function itself"),
])
def test_gnmt_penalty_wrong_answers(answer, hint):
    feedback = verdict("08.gnmt_penalty", answer)
    assert not feedback and hint in feedback.hint


def test_gnmt_cases_tell_the_forms_apart():
    lengths = {n for n, _ in GNMT_CASES}
    alphas = {a for _, a in GNMT_CASES}
    assert 1 in lengths and 0.0 in alphas and len(alphas) >= 3 and max(lengths) >= 20


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


def masked_dot_attention(query, keys, values, mask):
    scores = (query.unsqueeze(0) * keys).sum(-1)  # (S, B)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=0)
    return (weights.unsqueeze(-1) * values).sum(0), weights


def test_dot_references_agree_with_the_library_softmax_and_each_other():
    for sizes in DOT_SIZES:
        query, keys, values, mask = dot_inputs(*sizes)
        assert (~mask).any() and mask[:, 0].all()  # some padding, and a sentence without
        scores = reference_dot_scores(query, keys)
        torch.testing.assert_close(scores, torch.bmm(keys.transpose(0, 1), query.unsqueeze(-1)).squeeze(-1).t(),
                                   **FP32)
        context, weights = reference_dot_attention(query, keys, values, mask)
        assert (weights[~mask] == 0).all()
        torch.testing.assert_close(weights.sum(0), torch.ones(sizes[1]), **FP32)
        torch.testing.assert_close((context, weights), masked_dot_attention(query, keys, values, mask), **FP32)


def test_dot_scores_right_answers():
    assert verdict("09.dot_scores", lambda q, k: (q.unsqueeze(0) * k).sum(-1))
    assert verdict("09.dot_scores", lambda q, k: torch.einsum("bd,sbd->sb", q, k))
    assert verdict("09.dot_scores", lambda q, k: torch.bmm(k.transpose(0, 1), q.unsqueeze(-1)).squeeze(-1).t())
    assert verdict("09.dot_scores", lambda q, k: ((q.unsqueeze(0) * k).sum(-1)).tolist())  # a list is fine


@pytest.mark.parametrize("answer, hint", [
    (lambda q, k: (q.unsqueeze(0) * k).sum(-1).t(), "transposed"),
    (lambda q, k: (q.unsqueeze(0) * k).sum(-1) / math.sqrt(q.shape[-1]), "scaled"),
    (lambda q, k: torch.softmax((q.unsqueeze(0) * k).sum(-1), dim=0), "before the softmax"),
    (lambda q, k: q.unsqueeze(0) * k, "sum over the feature axis"),
    (lambda q, k: (q.unsqueeze(0) * k).sum(-1) + 1, "einsum"),
    (lambda q, k: q @ k, "raised RuntimeError"),
    (lambda q, k: (q.unsqueeze(0) * k[:, :, :5]).sum(-1) if k.shape[0] == 7 else torch.zeros(3, 2), "(S, B)"),
    (lambda q, k: None, "return a tensor"),
    ("q . k", "the function itself"),
])
def test_dot_scores_wrong_answers(answer, hint):
    feedback = verdict("09.dot_scores", answer)
    assert not feedback and hint in feedback.hint


def test_dot_attention_right_answers():
    assert verdict("09.dot_attention", masked_dot_attention)
    assert verdict("09.dot_attention", reference_dot_attention)
    assert verdict("09.dot_attention", lambda q, k, v, m: list(masked_dot_attention(q, k, v, m)))


def _unmasked(q, k, v, m):
    return masked_dot_attention(q, k, v, torch.ones_like(m))


def _over_batch(q, k, v, m):
    weights = masked_softmax((q.unsqueeze(0) * k).sum(-1), m, dim=1)
    return (weights.unsqueeze(-1) * v).sum(0), weights


def _scaled(q, k, v, m):
    return masked_dot_attention(q / math.sqrt(q.shape[-1]), k, v, m)


def _keys_as_values(q, k, v, m):
    return masked_dot_attention(q, k, k, m)


def _unweighted(q, k, v, m):
    return v.sum(0), masked_dot_attention(q, k, v, m)[1]


@pytest.mark.parametrize("answer, hint", [
    (_unmasked, "padding got weight"),
    (_over_batch, "dim=0"),
    (_scaled, "no scaling"),
    (_keys_as_values, "not of the keys"),
    (_unweighted, "counted equally"),
    (lambda q, k, v, m: masked_dot_attention(q, k, v, m)[0], "return two things"),
    (lambda q, k, v, m: (masked_dot_attention(q, k, v, m)[0], None), "weights should be shaped"),
    (lambda q, k, v, m: (masked_dot_attention(q, k, v, m)[0] * 2, masked_dot_attention(q, k, v, m)[1]), "einsum"),
    (lambda q, k, v, m: 1 / 0, "ZeroDivisionError"),
    (42, "the function itself"),
])
def test_dot_attention_wrong_answers(answer, hint):
    feedback = verdict("09.dot_attention", answer)
    assert not feedback and hint in feedback.hint


# ---------------------------------------------------------------- 08.beam_bleu, 09.beam_attention


@pytest.mark.multi30k
def test_beam_bleu_experiment(multi30k_dir, monkeypatch):
    from seq2seq_lib.data import load_multi30k
    from seq2seq_lib.exercises.nb08 import EXPERIMENT_BEAM, EXPERIMENT_PAIRS, pretrained_bleu
    from seq2seq_lib.metrics import evaluate_bleu
    from seq2seq_lib.translator import Translator

    monkeypatch.setenv("SEQ2SEQ_DATA_DIR", str(multi30k_dir))
    report = evaluate_bleu(Translator.from_pretrained("classic"), load_multi30k("test")[:EXPERIMENT_PAIRS],
                           beam_size=EXPERIMENT_BEAM)  # what the notebook's solution computes
    assert verdict("08.beam_bleu", report.token_bleu)
    assert verdict("08.beam_bleu", round(report.token_bleu, 2))
    greedy = pretrained_bleu(1)[0]
    assert abs(greedy - report.token_bleu) > 0.02 and abs(report.sacre.score - report.token_bleu) > 0.02
    for answer, hint in [(greedy, "greedy decoding"), (report.sacre.score, "sacreBLEU"),
                         (report.token_bleu / 100, "wrong scale"),
                         (pretrained_bleu(EXPERIMENT_BEAM, 200)[0], "other sentences"),
                         (report.token_bleu + 3, "from_pretrained('classic')"),
                         ("17", "one number"), (..., "replace the `...`")]:
        feedback = verdict("08.beam_bleu", answer)
        assert not feedback and hint in feedback.hint, (answer, feedback.hint)


def test_beam_attention_word_is_written_by_both_decodings():
    from seq2seq_lib.exercises.nb09 import SENTENCE, WORD
    from seq2seq_lib.translator import Translator

    model = Translator.from_pretrained("attention")
    maxima = {}
    for beam_size in (1, 3):
        translation = model.translate(SENTENCE, beam_size=beam_size, details=True)
        row = translation.attention[translation.output_labels.index(WORD)]
        assert translation.source[int(row.argmax())] == "sandstrand"
        maxima[beam_size] = float(row.max())
    assert maxima[3] - maxima[1] > 0.05  # the experiment shows a difference
    assert verdict("09.beam_attention", maxima[3])
    assert verdict("09.beam_attention", torch.tensor(maxima[3]))


def test_beam_attention_wrong_answers():
    from seq2seq_lib.exercises.nb09 import attention_rows, word_attention

    labels, source, rows = attention_rows(3)
    for answer, hint in [(word_attention(1)[1], "greedy decoding"), ("sandstrand", "now answer with that weight"),
                         ("hund", "the weight, one number"), (source.index("sandstrand"), "position"),
                         (max(rows[labels.index("dog")]), "row of 'dog'"), (1.0, "sums to 1"),
                         (0.1, "details=True"), (None, "one number"), (..., "replace the `...`")]:
        feedback = verdict("09.beam_attention", answer)
        assert not feedback and hint in feedback.hint, (answer, feedback.hint)

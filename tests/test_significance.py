"""significance: bootstrap intervals and paired p-values over test sentences; evaluation.sentence_nll."""
import math
import random

import numpy as np
import pytest
import torch
from sacrebleu.metrics import BLEU

from seq2seq_lib import significance as sig
from seq2seq_lib.batching import pad_collate
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.data import load_sample
from seq2seq_lib.evaluation import evaluate_loss, sentence_nll
from seq2seq_lib.metrics import chrf, sacre_bleu, token_bleu
from seq2seq_lib.models import build_model

REFERENCES = [english for _, english in load_sample()]  # 400 caption-style sentences


def noisy(sentences: list[str], share: float, seed: int) -> list[str]:
    """Each word replaced by 'thing' with probability `share` (a system that gets that share wrong)."""
    rng = random.Random(seed)
    return [" ".join("thing" if rng.random() < share else word for word in s.split()) for s in sentences]


def all_metrics(hypotheses: list[str], references: list[str]) -> dict[str, sig.SentenceStatistics]:
    return {"token": sig.token_bleu_sentences([h.split() for h in hypotheses], [r.split() for r in references]),
            "sacre": sig.sacrebleu_sentences(hypotheses, references),
            "chrf": sig.chrf_sentences(hypotheses, references)}


GOOD, BAD = noisy(REFERENCES, 0.2, seed=1), noisy(REFERENCES, 0.35, seed=2)


def test_the_point_estimate_is_the_metric_itself_and_no_resampling_reproduces_it_exactly():
    stats = all_metrics(GOOD, REFERENCES)
    expected = {"token": token_bleu([h.split() for h in GOOD], [r.split() for r in REFERENCES]),
                "sacre": sacre_bleu(GOOD, REFERENCES).score, "chrf": chrf(GOOD, REFERENCES).score}
    once = np.ones((3, len(REFERENCES)), dtype=np.int64)  # every sentence drawn once: no resampling
    for name, statistics in stats.items():
        assert statistics.score() == expected[name], name
        assert statistics.resampled(once).tolist() == [expected[name]] * 3, name
        assert sig.confidence_interval(statistics, once) == sig.Interval(expected[name], expected[name], expected[name])
    nll, tokens = np.random.default_rng(0).uniform(5, 40, 50), np.arange(1, 51)
    ppl = sig.perplexity_sentences(nll, tokens)
    assert ppl.resampled(once[:, :50])[0] == ppl.score()
    assert math.isclose(ppl.score(), math.exp(nll.sum() / tokens.sum()))


def test_the_interval_holds_the_point_estimate_and_narrows_with_more_sentences():
    widths = {}
    for n in (40, 400):
        for name, statistics in all_metrics(GOOD[:n], REFERENCES[:n]).items():
            interval = sig.confidence_interval(statistics, n_resamples=500, seed=3)
            assert interval.low <= interval.value <= interval.high, (name, n, interval)
            widths[name, n] = interval.high - interval.low
    for name in ("token", "sacre", "chrf"):
        assert widths[name, 400] < 0.6 * widths[name, 40], name  # about 1 / sqrt(10) of it


def test_identical_systems_are_never_significantly_different():
    stats = all_metrics(GOOD, REFERENCES)
    copy = all_metrics(list(GOOD), REFERENCES)
    counts = sig.resample_counts(len(REFERENCES), 300, seed=4)
    for name in stats:
        assert sig.paired_bootstrap(stats[name], copy[name], counts) == 1.0, name  # never better than itself


def test_a_clearly_better_system_is_significant_and_the_worse_one_is_not():
    good, bad = all_metrics(GOOD, REFERENCES), all_metrics(BAD, REFERENCES)
    for name in good:
        assert good[name].score() > bad[name].score() + 5
        assert sig.paired_bootstrap(good[name], bad[name], n_resamples=500, seed=5) < 0.05, name
        assert sig.paired_bootstrap(bad[name], good[name], n_resamples=500, seed=5) > 0.95, name
    lower, higher = sig.perplexity_sentences([10.0] * 30, [5] * 30), sig.perplexity_sentences([15.0] * 30, [5] * 30)
    assert sig.paired_bootstrap(lower, higher, n_resamples=100) == 0.0  # lower perplexity is better


def test_results_are_reproducible_for_a_seed_and_change_with_it():
    stats = sig.sacrebleu_sentences(GOOD, REFERENCES)
    first, again, other = (sig.confidence_interval(stats, seed=seed, n_resamples=200) for seed in (7, 7, 8))
    assert first == again and first != other
    assert np.array_equal(sig.resample_counts(20, 10, seed=1), sig.resample_counts(20, 10, seed=1))


def test_the_interval_agrees_with_sacrebleus_own_bootstrap():
    ours = sig.confidence_interval(sig.sacrebleu_sentences(GOOD, REFERENCES), n_resamples=1000)
    theirs = BLEU().corpus_score(GOOD, [REFERENCES], n_bootstrap=1000)  # mean +- half the 95% range
    assert math.isclose((ours.high - ours.low) / 2, theirs._ci, rel_tol=0.15)
    assert math.isclose((ours.high + ours.low) / 2, theirs._mean, abs_tol=0.5)


@pytest.mark.parametrize("call, message", [
    (lambda: sig.token_bleu_sentences(["a dog"], [["a", "dog"]]), "token lists"),
    (lambda: sig.sacrebleu_sentences(["a dog"], ["a dog", "a cat"]), "one reference per hypothesis"),
    (lambda: sig.chrf_sentences([], []), "at least one sentence"),
    (lambda: sig.perplexity_sentences([1.0, 2.0], [3]), "one of each per sentence"),
    (lambda: sig.perplexity_sentences([-1.0], [3]), "finite number >= 0"),
    (lambda: sig.perplexity_sentences([1.0], [0]), "integer >= 1"),
    (lambda: sig.resample_counts(10, 0), "n_resamples must be an integer >= 1"),
    (lambda: sig.resample_counts(10, 5, seed=-1), "seed must be an integer >= 0"),
    (lambda: sig.confidence_interval(sig.perplexity_sentences([1.0], [1]), confidence=95), "float in \\(0, 1\\)"),
    (lambda: sig.confidence_interval([1.0, 2.0]), "Expected SentenceStatistics"),
    (lambda: sig.confidence_interval(sig.perplexity_sentences([1.0], [1]), np.ones((2, 3), int)),
     "shaped \\(resamples, 1\\).*resample_counts\\(1"),
    (lambda: sig.paired_bootstrap(sig.chrf_sentences(["a"], ["a"]), sig.sacrebleu_sentences(["a"], ["a"])),
     "same metric and settings"),
    (lambda: sig.paired_bootstrap(sig.chrf_sentences(["a"], ["a"]), sig.chrf_sentences(["a", "b"], ["a", "b"])),
     "same test sentences"),
    (lambda: sig.SentenceStatistics("x", np.zeros((0, 2)), sum), "non-empty"),
])
def test_bad_input_is_refused_with_the_fix(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.fixture(scope="module")
def tiny_model(sample_data):
    torch.manual_seed(0)
    config = ModelConfig(emb_dim=16, hidden_dim=24, n_layers=1, dropout=0.0, attention=True, rnn_type="gru")
    return build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))


@pytest.mark.parametrize("fast", [True, False])
def test_sentence_nll_sums_to_the_teacher_forced_loss_one_column_per_sentence(sample_data, tiny_model, fast):
    examples = sample_data.examples["val"]
    batches = [pad_collate(examples[i:i + 16], sample_data.pad_idx) for i in range(0, len(examples), 16)]
    nll, tokens = sentence_nll(tiny_model, batches, "cpu", fast=fast)
    assert nll.shape == tokens.shape == (len(examples),) and nll.dtype == torch.float64
    assert tokens.tolist() == [len(trg) - 1 for _, trg in examples]  # every target token after <sos>
    expected = evaluate_loss(tiny_model, batches, "cpu", teacher_forcing_ratio=1.0, fast=fast)
    assert math.isclose(nll.sum().item() / tokens.sum().item(), expected["loss"], rel_tol=1e-5)
    alone, _ = sentence_nll(tiny_model, [pad_collate(examples[5:6], sample_data.pad_idx)], "cpu", fast=fast)
    assert math.isclose(alone.item(), nll[5].item(), rel_tol=1e-5)  # padding in a batch changes nothing

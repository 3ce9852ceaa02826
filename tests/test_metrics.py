"""BLEU (sacreBLEU and the tutorials' token BLEU), perplexity and evaluate_bleu, against known values."""
from __future__ import annotations

import math

import pytest
import torch
from sacrebleu.metrics import BLEU

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.metrics import evaluate_bleu, perplexity, sacre_bleu, token_bleu
from seq2seq_lib.models import build_model
from seq2seq_lib.translator import Translation, Translator

HYPS = ["a man is riding a horse".split(), "dogs play".split()]
REFS = ["a man is riding a brown horse".split(), "two dogs play".split()]


def test_identical_corpus_scores_100_both_ways():
    text = ["A dog runs through the snow.", "Two men are playing soccer."]
    assert sacre_bleu(text, text).score == 100.0
    assert token_bleu([t.split() for t in text], [t.split() for t in text]) == 100.0


def test_token_bleu_hand_worked_corpus():
    # corpus n-gram matches/totals: 8/8, 5/6, 3/4, 2/3; hypothesis 8 tokens, reference 10
    expected = 100 * math.exp(1 - 10 / 8) * (8 / 8 * 5 / 6 * 3 / 4 * 2 / 3) ** 0.25
    assert token_bleu(HYPS, REFS) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(62.5711, abs=1e-4)
    unsmoothed = BLEU(tokenize="none", smooth_method="none")
    joined = unsmoothed.corpus_score([" ".join(h) for h in HYPS], [[" ".join(r) for r in REFS]])
    assert token_bleu(HYPS, REFS) == pytest.approx(joined.score, abs=1e-9)


def test_token_bleu_is_corpus_level_and_zero_without_4gram_matches():
    assert token_bleu(HYPS[1:], REFS[1:]) == 0.0  # 'dogs play' alone has no 3- or 4-grams
    assert token_bleu(HYPS, REFS) > 60  # but its counts still join the corpus totals
    assert token_bleu([["a", "dog", "runs", "fast"]], [["a", "dog", "walks", "fast"]]) == 0.0


def test_token_bleu_with_several_references_clips_by_the_best_reference():
    hyp = "the the the the".split()
    refs = ["the cat".split(), "the the dog sat".split()]
    # unigrams clipped at 2 (second reference); no bigram 'the the' beyond 1 -> some precision 0 -> 0
    assert token_bleu([hyp], [refs]) == 0.0
    hyp = "a small dog runs".split()
    assert token_bleu([hyp], [["a dog runs".split(), "a small dog runs".split()]]) == 100.0


def test_brevity_penalty_uses_the_closest_reference_length():
    hyp = "a b c d e f".split()
    assert token_bleu([hyp], [["a b c d e f g".split(), "a b c d e f x y z".split()]]) == pytest.approx(
        100 * math.exp(1 - 7 / 6), abs=1e-9)


@pytest.mark.parametrize("call,error,match", [
    (lambda: token_bleu(["a dog"], ["a dog"]), TypeError, "token lists"),
    (lambda: token_bleu(HYPS, REFS[:1]), ValueError, "one reference per hypothesis"),
    (lambda: token_bleu([], []), ValueError, "empty corpus"),
    (lambda: token_bleu(HYPS, REFS, max_n=0), ValueError, "max_n"),
    (lambda: sacre_bleu("a dog", "a dog"), TypeError, "list"),
    (lambda: sacre_bleu(["a dog"], [["a dog"]]), TypeError, "string"),
    (lambda: perplexity(float("nan")), ValueError, "diverged"),
    (lambda: perplexity(-1.0), ValueError, "negative"),
    (lambda: perplexity("3"), ValueError, "number"),
])
def test_bad_input_names_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_sacre_bleu_signature_and_lowercasing():
    result = sacre_bleu(["a dog runs."], ["A dog runs."])
    assert result.score < 100 and "tok:13a" in result.signature and "case:mixed" in result.signature
    lower = sacre_bleu(["a dog runs."], ["A dog runs."], lowercase=True)
    assert lower.score == 100.0 and "case:lc" in lower.signature and "BLEU" in str(lower)


def test_perplexity_known_values_and_overflow_guard():
    assert perplexity(0.0) == 1.0
    assert perplexity(math.log(44.0)) == pytest.approx(44.0)
    assert perplexity(800.0) == math.inf


@pytest.fixture()
def translator(sample_data):
    torch.manual_seed(0)
    config = ModelConfig(emb_dim=16, hidden_dim=16, n_layers=1, dropout=0.0)
    model = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    return Translator(model, sample_data.src_field, sample_data.trg_field)


def test_evaluate_bleu_of_perfect_translations_is_100(monkeypatch, translator, sample_data):
    pairs = sample_data.pairs["test"][:10]
    field = sample_data.trg_field

    def perfect(sources, *args):
        refs = [dict(pairs)[s] for s in sources]
        return [Translation(field.detokenize(t), t, [], 0.0, True, None) for t in field.preprocess_many(refs)]

    monkeypatch.setattr(translator, "translate_batch", perfect)
    report = evaluate_bleu(translator, pairs)
    assert report.sacre.score == pytest.approx(100.0) and report.token_bleu == pytest.approx(100.0)
    assert "case:lc" in report.sacre.signature and "token BLEU 100.00" in str(report)


def test_evaluate_bleu_matches_the_parts_and_accepts_model_plus_fields(translator, sample_data):
    pairs = sample_data.pairs["test"][:12]
    report = evaluate_bleu(translator, pairs, beam_size=2, batch_size=5, max_len=10)
    assert len(report.hypotheses) == 12 and report.beam_size == 2
    assert report.hypotheses == translator.translate([s for s, _ in pairs], beam_size=2, max_len=10)
    refs = [r for _, r in pairs]
    assert report.sacre.score == sacre_bleu(report.hypotheses, refs, lowercase=True).score
    again = evaluate_bleu(translator.model, pairs, beam_size=2, max_len=10,
                          src_field=sample_data.src_field, trg_field=sample_data.trg_field)
    assert again.sacre.score == report.sacre.score and again.token_bleu == report.token_bleu
    with pytest.raises(TypeError, match="src_field= and trg_field="):
        evaluate_bleu(translator.model, pairs)
    with pytest.raises(ValueError, match="non-empty list"):
        evaluate_bleu(translator, [])


def test_chrf_credits_partly_right_words_and_names_its_settings():
    from seq2seq_lib.metrics import chrf

    hypotheses, references = ["two dogs play in snow."], ["Two dogs are playing in the snow."]
    partial = chrf(hypotheses, references, lowercase=True)
    assert 0 < sacre_bleu(hypotheses, references, lowercase=True).score < partial.score < 100
    assert partial.signature.startswith("nrefs:1|case:lc") and "nc:6" in partial.signature
    with pytest.raises(TypeError, match="wrap a single sentence in a list"):
        chrf("a dog", ["a dog"])


@pytest.mark.parametrize("pairs, match", [
    ("Ein Hund.", "non-empty list"), ([], "non-empty list"), ([("Ein Hund.",)], "pair of strings"),
    ([("Ein Hund.", ["a", "dog"])], "pair of strings"),
], ids=["a string", "empty", "one side", "tokens as reference"])
def test_sentence_pairs_are_checked_with_the_shape_they_need(pairs, match):
    from seq2seq_lib.metrics import check_pairs

    with pytest.raises(ValueError, match=match):
        check_pairs(pairs)


def test_counts_of_the_wrong_kind_are_refused_not_scored():
    from seq2seq_lib.metrics import bleu_from_statistics, ngram_counts

    with pytest.raises(TypeError, match="not the string 'a dog'"):
        ngram_counts("a dog", 2)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        ngram_counts(["a", "dog"], 0)
    with pytest.raises(ValueError, match="cannot be negative"):
        bleu_from_statistics([2, 1, 3, -2, 3, 3], max_n=2)
    with pytest.raises(ValueError, match="not BLEU statistics"):
        bleu_from_statistics([4, 1, 3, 2, 3, 3], max_n=2)


def test_an_empty_side_of_a_pair_is_named_by_its_index_and_numpy_losses_are_numbers():
    import numpy as np

    from seq2seq_lib.metrics import check_pairs, perplexity

    with pytest.raises(ValueError, match=r"pairs\[1\] = \('Zwei Hunde.', ''\) has an empty source or reference"):
        check_pairs([("Ein Hund.", "A dog."), ("Zwei Hunde.", "")])
    assert perplexity(np.float32(0.0)) == 1.0
    with pytest.raises(ValueError, match=r"loss.item\(\) for a tensor"):
        perplexity(torch.tensor(2.0))

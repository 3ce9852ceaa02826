"""Scores by source length: groups partition the sentences and add up to the whole-set figures."""
import pytest
import torch

from seq2seq_lib.batching import BucketIterator
from seq2seq_lib.by_length import LENGTH_GROUPS, scores_by_length
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.evaluation import evaluate_loss
from seq2seq_lib.metrics import token_bleu
from seq2seq_lib.models import build_model
from seq2seq_lib.prepare import numericalize_pairs
from seq2seq_lib.translator import Translator

CONFIG = ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0)


@pytest.fixture(scope="module")
def translator(sample_data):
    torch.manual_seed(0)
    model = build_model(CONFIG, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    return Translator(model, sample_data.src_field, sample_data.trg_field)


def test_groups_partition_the_sentences_and_their_losses_add_up_to_the_whole(translator, sample_data):
    pairs = sample_data.pairs["test"] + sample_data.pairs["val"]
    scores = scores_by_length(translator, pairs, batch_size=7)
    assert [(s.low, s.high) for s in scores] == list(LENGTH_GROUPS)
    assert sum(s.sentences for s in scores) == len(pairs)
    examples = numericalize_pairs(pairs, translator.src_field, translator.trg_field)
    whole = evaluate_loss(translator.model, BucketIterator(examples, 16, 1, shuffle=False), "cpu",
                          teacher_forcing_ratio=1.0, fast=False)
    counts = {}
    for de, en in pairs:
        n = len(translator.src_field.preprocess(de))
        group = next(g for g in LENGTH_GROUPS if g[0] <= n <= g[1])
        counts[group] = counts.get(group, 0) + len(translator.trg_field.preprocess(en)) + 1  # + <eos>
    total = sum(s.loss_teacher_forced * counts[(s.low, s.high)] for s in scores if s.sentences)
    assert total / sum(counts.values()) == pytest.approx(whole["loss"], rel=1e-5)


def test_each_groups_bleu_is_the_corpus_bleu_of_its_sentences(translator, sample_data):
    pairs = sample_data.pairs["test"]
    groups = ((1, 9), (10, 10_000))
    scores = scores_by_length(translator, pairs, groups)
    short = [p for p in pairs if len(translator.src_field.preprocess(p[0])) <= 9]
    hypotheses = [r.tokens for r in translator.translate_batch([de for de, _ in short])]
    references = translator.trg_field.preprocess_many([en for _, en in short])
    assert scores[0].sentences == len(short) and scores[0].label == "1-9" and scores[1].label == "10+"
    assert scores[0].bleu_tokens == pytest.approx(token_bleu(hypotheses, references))


@pytest.mark.parametrize("groups", [(), ((1, 8), (10, 12)), ((0, 8),), ((8, 1),), "1-8"])
def test_groups_that_leave_a_gap_or_make_no_sense_are_refused(translator, sample_data, groups):
    with pytest.raises(ValueError, match="adjacent"):
        scores_by_length(translator, sample_data.pairs["test"], groups)


def test_a_model_without_fields_or_no_pairs_is_refused(translator):
    with pytest.raises(TypeError, match="Translator"):
        scores_by_length(translator.model, [("Ein Hund.", "A dog.")])
    with pytest.raises(ValueError, match="non-empty list"):
        scores_by_length(translator, [])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
def test_a_batch_size_below_one_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        scores_by_length(Translator.from_pretrained("attention"), [("Ein Hund läuft.", "A dog runs.")],
                         batch_size=batch_size)

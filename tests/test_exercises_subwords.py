"""Exercises of notebook 10: right answers come from the library's BPE, subword fields and <unk> rate,
typical wrong answers get the hint that fits, and nonsense gets a hint instead of a crash."""
from __future__ import annotations

import pytest
import torch

from seq2seq_lib.bpe import END, apply_bpe, learn_bpe, merge_pair, split_word
from seq2seq_lib.exercises.nb10 import (
    EXPERIMENT_SENTENCE, EXPERIMENT_SIZE, KNOWN, MERGES, N_MERGES, NEW_WORD, PIECES, SENTENCES, START_SIZE,
    WORD_COUNTS, sample_pieces, toy_corpus,
)
from seq2seq_lib.fields import Field
from seq2seq_lib.subwords import SubwordField, unk_rate
from seq2seq_lib.vocab import Vocab
from exercise_checks import assert_hint, assert_nonsense_gets_a_hint, verdict

NAMES = ["10.first_merge", "10.apply_merges", "10.unk_rate", "10.detokenize", "10.size_experiment"]


@pytest.mark.parametrize("name", NAMES)
def test_nonsense_answers_get_a_hint_not_a_crash(name):
    assert_nonsense_gets_a_hint(name)


def test_every_exercise_of_the_notebook_is_registered():
    from seq2seq_lib.exercises import available

    assert set(NAMES) <= set(available())


# ---------------------------------------------------------------- 10.first_merge


def test_first_merge_right_answer_is_the_librarys_first_merge():
    first = learn_bpe(toy_corpus(), 1)[0]
    assert first == ("o", "o") == MERGES[0]
    assert verdict("10.first_merge", first)
    assert verdict("10.first_merge", ["o", "o"])  # a list is a pair too
    assert "12 times" in verdict("10.first_merge", first).hint


def test_toy_corpus_holds_each_word_as_often_as_it_counts():
    words = " ".join(toy_corpus()).split()
    assert {word: words.count(word) for word in set(words)} == WORD_COUNTS


@pytest.mark.parametrize("answer, hint", [
    (("b", "o"), "weight every pair"),  # what counting each word once gives
    (("o", "t"), "occurs 7 times"),
    (("m", "o"), "another pair occurs more often"),
    (("t", "o"), "swapped"),
    ("oo", "that is the new symbol"),
    ("o o", "as a tuple"),
    (("x", "y"), "write each word as its letters"),
    (("o", "o", "t"), "pair of two strings"),
])
def test_first_merge_wrong_answers(answer, hint):
    assert_hint("10.first_merge", answer, hint)


# ---------------------------------------------------------------- 10.apply_merges


def test_apply_merges_right_answer_replays_the_merges_by_hand():
    assert len(MERGES) == N_MERGES and list(MERGES) == learn_bpe(toy_corpus(), N_MERGES)
    symbols = split_word(NEW_WORD)
    for pair in MERGES:
        symbols = merge_pair(symbols, pair)
    assert list(symbols) == apply_bpe(NEW_WORD, MERGES) == ["moos", "boot", "e", END]
    assert verdict("10.apply_merges", list(symbols))
    assert verdict("10.apply_merges", symbols)  # a tuple is fine


@pytest.mark.parametrize("answer, hint", [
    (["moos" + END, "boot", "e", END], "does not apply there"),
    (["moos", "boot", "e"], "add '</w>'"),
    ([*NEW_WORD, END], "letters before any merge"),
    (apply_bpe(NEW_WORD, MERGES[:1]), "after the first 1 merge"),
    (apply_bpe(NEW_WORD, MERGES[:3]), "after the first 3 merge"),
    (["moos", "boote" + END], "apply each merge in the order learned"),
    (["moos", "bote", END], "must spell the word"),
    ("moosboote", "not one string"),
    ([1, 2], "list of strings"),
])
def test_apply_merges_wrong_answers(answer, hint):
    assert_hint("10.apply_merges", answer, hint)


# ---------------------------------------------------------------- 10.unk_rate


def test_unk_rate_right_answer_is_what_unk_rate_measures_with_a_word_field():
    field = Field("en")
    field.vocab = Vocab(list(KNOWN))
    texts = [" ".join(sentence) for sentence in SENTENCES]
    assert field.preprocess_many(texts) == [list(sentence) for sentence in SENTENCES]  # the field cuts them alike
    rate = unk_rate(field, texts)
    assert rate == pytest.approx(0.15)
    assert verdict("10.unk_rate", rate)
    assert verdict("10.unk_rate", torch.tensor(rate))
    assert verdict("10.unk_rate", 3 / 20)


@pytest.mark.parametrize("answer, hint", [
    (15, "percentage"),
    (3, "counts the unknown tokens"),
    (2 / 3, "share of sentences"),
    (3 / 26, "<sos> and <eos>"),
    (3 / 12, "distinct tokens"),
    (0.85, "share of known tokens"),
    (0.2, "count the tokens of SENTENCES"),
    ("0.15", "one number"),
])
def test_unk_rate_wrong_answers(answer, hint):
    assert_hint("10.unk_rate", answer, hint)


# ---------------------------------------------------------------- 10.detokenize


def test_detokenize_right_answer_is_the_fields_detokenize():
    text = SubwordField.detokenize(list(PIECES))
    assert text == "two skateboarders jump over a ramp."
    assert verdict("10.detokenize", text)


@pytest.mark.parametrize("answer, hint", [
    ("".join(PIECES), "still holds"),
    (" two skateboarders jump over a ramp.", ".strip()"),
    (" ".join(PIECES).replace("\u2581", "").strip(), "join the pieces with"),
    ("two skateboarders jump over a ramp .", "exactly where the"),
    ("Two skateboarders jump over a ramp.", "lowercase"),
    (list(PIECES), "one string"),
    ("two dogs.", "join the pieces with"),
])
def test_detokenize_wrong_answers(answer, hint):
    assert_hint("10.detokenize", answer, hint)


# ---------------------------------------------------------------- 10.size_experiment


def test_size_experiment_right_answer_is_the_learners_run_repeated():
    from seq2seq_lib.data import load_sample
    from seq2seq_lib.subwords import build_subword_fields

    pairs = load_sample()
    src, _ = build_subword_fields([de for de, _ in pairs], [en for _, en in pairs], EXPERIMENT_SIZE)
    pieces = src.tokenize(EXPERIMENT_SENTENCE)
    assert tuple(pieces) == sample_pieces(EXPERIMENT_SIZE)
    assert len(pieces) < len(sample_pieces(START_SIZE))  # more pieces, shorter sentence
    assert verdict("10.size_experiment", len(pieces))


@pytest.mark.parametrize("answer, hint", [
    (len(sample_pieces(START_SIZE)), "set vocab_size = 2000"),
    (len(sample_pieces(EXPERIMENT_SIZE)) + 2, "no <sos> and <eos>"),
    (len(EXPERIMENT_SENTENCE.split()), "counts the words"),
    (list(sample_pieces(EXPERIMENT_SIZE)), "not the pieces themselves"),
    (9.5, "whole number"),
    (99, "answer with len(pieces)"),
])
def test_size_experiment_wrong_answers(answer, hint):
    assert_hint("10.size_experiment", answer, hint)

"""Exercises of notebooks 01-03: right answers pass, typical wrong answers get the hint that fits."""
from __future__ import annotations

import pytest
import torch

from seq2seq_lib.exercises import check
from seq2seq_lib.exercises.nb01 import CONTRACTIONS, IDS_SENTENCE, TOKENS_SENTENCE
from seq2seq_lib.exercises.nb02 import LOOKUP, TOY_CORPUS, toy_vocab
from seq2seq_lib.exercises.nb03 import LENGTHS, PAIR, count_pads
from seq2seq_lib.fields import Field



def verdict(name: str, answer: object):
    return check(name, answer, quiet=True)


# ---------------------------------------------------------------- 01


def test_tokens_right_answer_is_the_fields_output():
    answer = Field("de").preprocess(TOKENS_SENTENCE)
    assert answer == ["der", "hund", ",", "den", "ich", "sah", ",", "bellt", "nicht", "!"]
    assert verdict("01.tokens", answer)
    assert verdict("01.tokens", tuple(answer))


@pytest.mark.parametrize("answer, hint", [
    (TOKENS_SENTENCE.split(), "str.split()"),
    (TOKENS_SENTENCE.lower().split(), "str.split()"),
    (["Der", "Hund", ",", "den", "ich", "sah", ",", "bellt", "nicht", "!"], "lowercases"),
    (["<sos>", "der", "hund", ",", "den", "ich", "sah", ",", "bellt", "nicht", "!", "<eos>"], "<sos>"),
    (["der", "hund", "den", "ich", "sah", "bellt", "nicht"], "10 tokens"),
    (["der", "hund", ",", "den", "ich", "sah", ",", "bellt", "nicht", "."], "token by token"),
    ("der hund , den", "list of strings"),
])
def test_tokens_wrong_answers(answer, hint):
    feedback = verdict("01.tokens", answer)
    assert not feedback and hint in feedback.hint


def test_count_en():
    assert Field("en").tokenize(CONTRACTIONS) == ["The", "dog", "'s", "ball", "is", "n't", "red", "."]
    assert verdict("01.count_en", 8)
    for answer, hint in [(5, "str.split()"), (10, "<sos>"), (7, "write out"), ("8", "whole number"),
                         (True, "whole number")]:
        feedback = verdict("01.count_en", answer)
        assert not feedback and hint in feedback.hint, answer


def test_n_ids():
    field = Field("de")
    field.build_vocab([field.preprocess(IDS_SENTENCE)])
    right = len(field.numericalize(field.preprocess(IDS_SENTENCE)))
    assert right == 8 and verdict("01.n_ids", right)
    for answer, hint in [(6, "<sos> in front"), (7, "one marker"), (5, "final '.'"), (12, "count the tokens"),
                         ([1, 2], "whole number")]:
        feedback = verdict("01.n_ids", answer)
        assert not feedback and hint in feedback.hint, answer


# ---------------------------------------------------------------- 02


def test_toy_vocab_is_what_the_exercises_say():
    vocab = toy_vocab()
    assert vocab.itos == ["<unk>", "<pad>", "<sos>", "<eos>", "dog", "the", "runs"]
    assert vocab.lookup_indices(LOOKUP) == [5, 0, 6]
    assert sum(len(sentence) for sentence in TOY_CORPUS) == 12


def test_size():
    assert verdict("02.size", 7)
    for answer, hint in [(3, "4 specials"), (11, "keeps every token"),
                         (6, "inclusive"), (9, "Counter"), (7.0, "whole number")]:
        feedback = verdict("02.size", answer)
        assert not feedback and hint in feedback.hint, answer


def test_itos():
    assert verdict("02.itos", toy_vocab().itos)
    specials = ["<unk>", "<pad>", "<sos>", "<eos>"]
    for answer, hint in [
        (["dog", "the", "runs"], "specials come first"),
        (specials + ["dog", "runs", "the"], "not alphabetical"),
        (specials + ["the", "dog", "runs"], "broken alphabetically"),
        (specials + ["dog", "the", "runs", "cat", "sleeps"], "appear only once"),
        (["<pad>", "<unk>", "<sos>", "<eos>", "dog", "the", "runs"], "compare"),
        ("dog the runs", "list of strings"),
    ]:
        feedback = verdict("02.itos", answer)
        assert not feedback and hint in feedback.hint, answer


def test_unk():
    assert verdict("02.unk", [5, 0, 6])
    assert verdict("02.unk", torch.tensor([5, 0, 6]))
    for answer, hint in [([2, 5, 0, 6, 3], "adds no markers"), ([5, 1, 6], "id 1 is <pad>"),
                         ([5, 9, 6], "appears only once"), ([4, 0, 6], "vocab.stoi"),
                         ("5 0 6", "list of whole numbers")]:
        feedback = verdict("02.unk", answer)
        assert not feedback and hint in feedback.hint, answer


# ---------------------------------------------------------------- 03


def test_shape_matches_field_pad():
    field = Field("de")
    field.build_vocab([["a"]])
    padded, _ = field.pad([[2] + [0] * n + [3] for n in (5, 7, 4)])
    assert verdict("03.shape", tuple(padded.shape))
    assert verdict("03.shape", padded.shape) and verdict("03.shape", [9, 3])
    for answer, hint in [((3, 9), "time first"), ((7, 3), "add 2"), ((8, 3), "both markers"),
                         ((12, 3), "longest sentence"), ((9, 2), "one column per sentence"),
                         (27, "pair")]:
        feedback = verdict("03.shape", answer)
        assert not feedback and hint in feedback.hint, answer


def test_first_row():
    assert verdict("03.first_row", 2)
    assert verdict("03.first_row", torch.tensor(2))
    assert verdict("03.first_row", torch.full((4,), 2))
    for answer, hint in [(1, "<pad>"), (3, "<eos>"), (0, "<unk>"), (17, "itos"), ("<sos>", "whole number")]:
        feedback = verdict("03.first_row", answer)
        assert not feedback and hint in feedback.hint, answer


def test_bucket_pads():
    assert count_pads(LENGTHS, PAIR) == 17 and count_pads(sorted(LENGTHS), PAIR) == 5
    assert verdict("03.bucket_pads", (17, 5))
    for answer, hint in [((5, 17), "swapped"), ((17, 4), "sorted, the batches"),
                         ((12, 5), "given order"), ((0, 0), "given order"), (5, "two whole numbers")]:
        feedback = verdict("03.bucket_pads", answer)
        assert not feedback and hint in feedback.hint, answer
    with pytest.raises(ValueError, match="batch_size"):
        count_pads(LENGTHS, 0)
    with pytest.raises(ValueError, match="lengths"):
        count_pads([], 2)
    assert "sorted, the batches" not in verdict("03.bucket_pads", (12, 5)).hint  # only the wrong half is explained

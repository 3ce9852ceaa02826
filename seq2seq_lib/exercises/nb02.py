"""Exercises of notebook 02: vocabulary size, order of itos, and <unk> for words left out.

>>> from seq2seq_lib.exercises import check
>>> feedback = check("02.size", 3, quiet=True)
>>> feedback.correct, "4 specials" in feedback.hint
(False, True)
"""
from __future__ import annotations

from numbers import Integral

from ..config import SPECIALS
from ..vocab import Vocab
from . import exercise

TOY_CORPUS = (
    ("the", "dog", "runs"),
    ("the", "cat", "runs"),
    ("the", "dog", "sleeps"),
    ("a", "dog", "barks"),
)
TOY_MIN_FREQ = 2
LOOKUP = ("the", "cat", "runs")


def toy_vocab() -> Vocab:
    """The vocabulary the exercises ask about: Vocab.build(TOY_CORPUS, min_freq=TOY_MIN_FREQ)."""
    return Vocab.build(TOY_CORPUS, min_freq=TOY_MIN_FREQ)


def _as_int_list(answer: object) -> list[int] | None:
    if hasattr(answer, "tolist"):  # a tensor or an array
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)):
        return None
    if any(isinstance(i, bool) or not isinstance(i, Integral) for i in answer):
        return None
    return [int(i) for i in answer]


@exercise("02.size")
def size(answer: object) -> tuple[bool, str]:
    """len(Vocab.build(TOY_CORPUS, min_freq=2))."""
    vocab = toy_vocab()
    kept = len(vocab) - len(SPECIALS)
    everything = len(Vocab.build(TOY_CORPUS, min_freq=1))
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return False, "answer with a whole number, the length of the vocabulary."
    if answer == len(vocab):
        return True, f"{kept} tokens seen at least twice + 4 specials."
    if answer == kept:
        return False, (f"{kept} counts the tokens kept by min_freq=2, but a vocabulary also holds the "
                       "4 specials <unk>, <pad>, <sos>, <eos>.")
    if answer == everything:
        return False, ("that keeps every token; min_freq=2 drops the ones seen only once "
                       "('cat', 'sleeps', 'a', 'barks').")
    if answer == len(vocab) - 1:
        return False, ("min_freq is inclusive: a token seen exactly twice ('runs') stays in. "
                       "Count with collections.Counter and keep counts >= 2.")
    return False, "count every token of TOY_CORPUS with a Counter, keep those seen >= 2 times, add the 4 specials."


@exercise("02.itos")
def itos(answer: object) -> tuple[bool, str]:
    """vocab.itos of the toy vocabulary: specials, then frequency descending, ties alphabetical."""
    expected = toy_vocab().itos
    if not isinstance(answer, (list, tuple)) or not all(isinstance(t, str) for t in answer):
        return False, "answer with a list of strings, the vocabulary's itos."
    answer = list(answer)
    words = expected[len(SPECIALS):]
    if answer == expected:
        return True, "specials first; 'dog' and 'the' tie at 3, so the alphabet decides."
    if answer == words:
        return False, "the four specials come first, at ids 0..3: <unk>, <pad>, <sos>, <eos>."
    if sorted(answer) == sorted(expected) and answer[:len(SPECIALS)] == list(SPECIALS):
        if answer[len(SPECIALS):] == sorted(words):
            return False, "not alphabetical: tokens are ordered by frequency, most frequent first."
        return False, ("right tokens, wrong order: most frequent first, and a tie (here 'dog' and 'the', "
                       "both seen 3 times) is broken alphabetically.")
    if set(answer) > set(expected):
        extra = sorted(set(answer) - set(expected))
        return False, f"{extra} appear only once, so min_freq=2 leaves them out."
    return False, "print(toy_vocab().itos) after working it out on paper, and compare."


@exercise("02.unk")
def unk(answer: object) -> tuple[bool, str]:
    """vocab.lookup_indices(LOOKUP) for the toy vocabulary (a word left out becomes <unk>, id 0)."""
    vocab = toy_vocab()
    expected = vocab.lookup_indices(LOOKUP)
    ids = _as_int_list(answer)
    if ids is None:
        return False, "answer with a list of whole numbers, one id per token."
    if ids == expected:
        return True, "'cat' was seen once, so it is not in the vocabulary and maps to <unk> (0), no KeyError."
    if len(ids) == len(expected) + 2:
        return False, ("lookup_indices gives one id per token and adds no markers; <sos>/<eos> are "
                       "added by Field.numericalize.")
    if len(ids) == len(expected) and ids[1] == vocab["<pad>"]:
        return False, "id 1 is <pad>. A word that is not in the vocabulary gets the id of <unk>, which is 0."
    if len(ids) == len(expected) and ids[1] != vocab.unk_index:
        return False, "'cat' appears only once in TOY_CORPUS, so min_freq=2 leaves it out: it becomes <unk>."
    return False, "look each token up in vocab.stoi; one that is missing gets vocab['<unk>']."

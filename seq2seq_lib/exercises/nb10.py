"""Exercises of notebook 10: byte-pair encoding by hand (the first merge, replaying merges on a new
word), an <unk> rate, detokenizing pieces, and an experiment with the subword vocabulary size.

>>> from seq2seq_lib.exercises import check
>>> check("10.first_merge", ("o", "o")).correct
✅ 10.first_merge: correct. ('o', 'o') occurs 12 times: 4 in boot, 3 in boote and 5 in moos.
True
>>> check("10.detokenize", "two skateboarders jump over a ramp.", quiet=True).correct
True
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from numbers import Integral

from ..bpe import END, apply_bpe, best_pair, learn_bpe, pair_counts, split_word
from ..subwords import SPACE
from . import as_number, exercise

# ---------------------------------------------------------------- 10.first_merge, 10.apply_merges
WORD_COUNTS = {"boot": 4, "boote": 3, "boden": 2, "moos": 5}  # a toy corpus: each word and how often it occurs
N_MERGES = 6
NEW_WORD = "moosboote"  # a compound the toy corpus never saw


def toy_corpus() -> list[str]:
    """WORD_COUNTS written as one text per word, as `seq2seq_lib.bpe.learn_bpe` takes it."""
    return [" ".join([word] * count) for word, count in WORD_COUNTS.items()]


def toy_merges() -> list[tuple[str, str]]:
    """The N_MERGES merges learned on the toy corpus, in order (MERGES in the notebook)."""
    return learn_bpe(toy_corpus(), N_MERGES)


MERGES = tuple(toy_merges())


def _as_pair(answer: object) -> tuple[str, str] | None:
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and all(isinstance(s, str) for s in answer):
        return answer[0], answer[1]
    return None


@exercise("10.first_merge")
def first_merge(answer: object) -> tuple[bool, str]:
    """The pair that byte-pair encoding merges first on WORD_COUNTS."""
    segmentations = {word: split_word(word) for word in WORD_COUNTS}
    pairs = pair_counts(segmentations, WORD_COUNTS)
    expected, count = best_pair(pairs)
    if isinstance(answer, str):
        if answer == "".join(expected):
            return False, f"that is the new symbol; answer with the pair that makes it, {expected!r}, as a tuple."
        return False, "answer with a pair of symbols as a tuple, e.g. ('b', 'o')."
    pair = _as_pair(answer)
    if pair is None:
        return False, "answer with a pair of two strings, the left and the right symbol, e.g. ('b', 'o')."
    if pair == expected:
        where = [f"{WORD_COUNTS[w]} in {w}" for w, symbols in segmentations.items()
                 if expected in zip(symbols, symbols[1:])]
        return True, f"{expected!r} occurs {count} times: {', '.join(where[:-1])} and {where[-1]}."
    once = Counter(p for symbols in segmentations.values() for p in set(zip(symbols, symbols[1:])))
    if pair == best_pair(once)[0]:
        return False, (f"{pair!r} wins if each word counts once. But a word that occurs 5 times contributes its "
                       "pairs 5 times: weight every pair by its word's count.")
    if pair in pairs:
        return False, (f"{pair!r} occurs {pairs[pair]} times, weighted by the word counts; another pair occurs "
                       "more often. Count every adjacent pair of every word, times that word's count.")
    if pair[::-1] in pairs:
        return False, "left and right are swapped: write the pair in reading order."
    return False, ("write each word as its letters and </w>, count every adjacent pair (times the word's count) "
                   "and take the most frequent.")


@exercise("10.apply_merges")
def apply_merges(answer: object) -> tuple[bool, str]:
    """NEW_WORD's symbols after replaying MERGES in order."""
    expected = apply_bpe(NEW_WORD, MERGES)
    if isinstance(answer, str):
        return False, "answer with the list of symbols, such as ['b', 'oo', 't', '</w>'], not one string."
    if not isinstance(answer, (list, tuple)) or not all(isinstance(s, str) for s in answer):
        return False, "answer with a list of strings, one per symbol, ending with '</w>'."
    symbols = list(answer)
    if symbols == expected:
        return True, ("the merges were learned on whole words: ('moos', '</w>') needs 'moos' at the end of a "
                      "word, so inside the compound it does not apply, and 'e' stays on its own.")
    if any(s.endswith(END) and s != END for s in symbols[:-1]):
        return False, ("a symbol ending in '</w>' stands at the end of a word. Inside the compound 'moos' is "
                       "followed by 'b', not by '</w>', so the merge ('moos', '</w>') does not apply there.")
    if "".join(symbols) != NEW_WORD + END:
        if "".join(symbols) == NEW_WORD:
            return False, "every word ends with the end-of-word marker: add '</w>' as the last symbol."
        return False, f"the symbols must spell the word and its marker: joined they give {NEW_WORD + END!r}."
    if symbols == list(split_word(NEW_WORD)):
        return False, (f"those are the letters before any merge; now replay the {len(MERGES)} merges in MERGES, "
                       "in order.")
    for number in range(1, len(MERGES)):
        if symbols == apply_bpe(NEW_WORD, MERGES[:number]):
            return False, (f"that is the word after the first {number} merge(s); replay all {len(MERGES)}, each on "
                           "the result of the one before.")
    return False, ("start from the letters and '</w>', then apply each merge in the order learned, joining every "
                   "place where its left symbol is directly followed by its right one.")


# ---------------------------------------------------------------- 10.unk_rate
KNOWN = ("<unk>", "<pad>", "<sos>", "<eos>", "a", "dog", "runs", "in", "the", "park", ".", "man", "with")
SENTENCES = (
    ("a", "dog", "runs", "in", "the", "park", "."),
    ("a", "dachshund", "runs", "in", "the", "snow", "."),
    ("a", "man", "with", "a", "skateboard", "."),
)


def _unknown_flags() -> list[list[bool]]:
    return [[token not in KNOWN for token in sentence] for sentence in SENTENCES]


@exercise("10.unk_rate")
def unk_rate(answer: object) -> tuple[bool, str]:
    """The share of the tokens of SENTENCES that a vocabulary of the entries KNOWN turns into <unk>."""
    flags = _unknown_flags()
    unknown, tokens = sum(map(sum, flags)), sum(map(len, flags))
    expected = unknown / tokens
    value = as_number(answer)
    if value is None:
        return False, "answer with one number, the share of tokens that become <unk>, between 0 and 1."
    if abs(value - expected) < 1e-6:
        return True, f"{unknown} of {tokens} tokens: 'dachshund', 'snow' and 'skateboard' are not in the vocabulary."
    if abs(value - 100 * expected) < 1e-4:
        return False, (f"that is a percentage; answer with the share, between 0 and 1 "
                       f"({100 * expected:g}% is {expected:g}).")
    if value == unknown:
        return False, f"that counts the unknown tokens; divide by the number of tokens, {tokens}."
    if abs(value - sum(map(any, flags)) / len(flags)) < 1e-6:
        return False, "that is the share of sentences with an <unk>; count tokens: unknown tokens / all tokens."
    if abs(value - unknown / (tokens + 2 * len(flags))) < 1e-6:
        return False, "<sos> and <eos> are added by the field, not written: count only the tokens of SENTENCES."
    if abs(value - unknown / len({t for s in SENTENCES for t in s})) < 1e-6:
        return False, "that divides by the distinct tokens; the rate counts every token, repeats included."
    if abs(value - (1 - expected)) < 1e-6:
        return False, "that is the share of known tokens; the <unk> rate is the share of unknown ones."
    return False, "count the tokens of SENTENCES that are not in KNOWN and divide by the number of all tokens."


# ---------------------------------------------------------------- 10.detokenize
PIECES = ("\u2581two", "\u2581skateboard", "ers", "\u2581jump", "\u2581over", "\u2581a", "\u2581r", "amp", ".")


@exercise("10.detokenize")
def detokenize(answer: object) -> tuple[bool, str]:
    """The text of PIECES: joined, each ▁ turned back into a space, without outer spaces."""
    joined = "".join(PIECES)
    expected = joined.replace(SPACE, " ").strip()
    if isinstance(answer, (list, tuple)):
        return False, "answer with one string, the text, not a list."
    if not isinstance(answer, str):
        return False, "answer with one string, e.g. \"\".join(PIECES) followed by a replacement."
    if answer == expected:
        return True, "a ▁ marks where a space was, so joining the pieces and turning ▁ into spaces is exact."
    if SPACE in answer:
        return False, f"the text still holds '{SPACE}': replace each with a space, .replace('{SPACE}', ' ')."
    if answer == joined.replace(SPACE, " "):
        return False, "the first piece starts with ▁, so the text starts with a space; remove it with .strip()."
    if answer.replace(" ", "") == expected.replace(" ", ""):
        if "skateboard ers" in answer or "r amp" in answer:
            return False, ("pieces without a ▁ continue the word before them: join the pieces with \"\" (no space) "
                           "and let the ▁ marks say where the spaces go.")
        return False, "the spaces go exactly where the ▁ marks were, nowhere else."
    if answer.lower() == expected.lower():
        return False, "keep the pieces' letters as they are; the field writes lowercase."
    return False, "join the pieces with \"\", turn every ▁ into a space and strip the outer spaces."


# ---------------------------------------------------------------- 10.size_experiment
EXPERIMENT_SENTENCE = "Ein Skateboardfahrer springt über eine Treppe."
START_SIZE, EXPERIMENT_SIZE = 500, 2000


@lru_cache(maxsize=None)
def sample_pieces(vocab_size: int) -> tuple[str, ...]:
    """EXPERIMENT_SENTENCE cut by a joint subword model of `vocab_size` pieces trained on the bundled sample."""
    from ..data import load_sample
    from ..subwords import build_subword_fields

    pairs = load_sample()
    src, _ = build_subword_fields([de for de, _ in pairs], [en for _, en in pairs], vocab_size)
    return tuple(src.tokenize(EXPERIMENT_SENTENCE))


@exercise("10.size_experiment")
def size_experiment(answer: object) -> tuple[bool, str]:
    """How many pieces EXPERIMENT_SENTENCE has with a joint model of EXPERIMENT_SIZE pieces (the sample)."""
    if isinstance(answer, (list, tuple)):
        return False, "answer with the number of pieces, len(pieces), not the pieces themselves."
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return False, "answer with a whole number: how many pieces the sentence is cut into."
    expected = len(sample_pieces(EXPERIMENT_SIZE))
    if answer == expected:
        start = len(sample_pieces(START_SIZE))
        return True, (f"{expected} pieces against {start} with {START_SIZE}: a larger vocabulary keeps more whole "
                      "words, so sentences get shorter, and each piece is seen less often in training.")
    if answer == len(sample_pieces(START_SIZE)):
        return False, (f"that is the count with {START_SIZE} pieces; set vocab_size = {EXPERIMENT_SIZE} and run "
                       "the cell again.")
    if answer == expected + 2:
        return False, "tokenize adds no <sos> and <eos>; count only the pieces it returns."
    if answer == len(EXPERIMENT_SENTENCE.split()):
        return False, "that counts the words; count the pieces the field cuts the sentence into, len(pieces)."
    return False, f"train with vocab_size = {EXPERIMENT_SIZE}, cut EXPERIMENT_SENTENCE and answer with len(pieces)."


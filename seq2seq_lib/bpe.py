"""Byte-pair encoding by hand (Sennrich et al., 2016): how a subword vocabulary is learned.

The recipe, on a toy corpus:

1. count how often each word occurs;
2. write every word as its characters followed by the end-of-word marker `</w>`
   ("low" -> l o w </w>), so that a piece can tell "the end of a word" from "inside a word";
3. count every pair of adjacent symbols, each word's pairs weighted by that word's count;
4. merge the most frequent pair into one new symbol everywhere it occurs, and remember the merge;
5. repeat from 3 until `n_merges` merges are learned (or no word has two symbols left).

Ties: when several pairs are equally frequent, the pair that sorts first (left symbol, then right
symbol, as Python compares strings) wins, so the same corpus always gives the same merges.

`apply_bpe` segments any word, seen or not, by replaying the merges in the order they were
learned; on a training word it reproduces the segmentation learned for it. This module is for
reading, not speed: the library's subword fields use sentencepiece (`seq2seq_lib.subwords`).

>>> corpus = ["low " * 5, "lower " * 2, "newest " * 6, "widest " * 3]  # the paper's example
>>> merges = learn_bpe(corpus, 5)
>>> merges
[('e', 's'), ('es', 't'), ('est', '</w>'), ('l', 'o'), ('lo', 'w')]
>>> apply_bpe("lowest", merges)  # never seen, yet written with two learned pieces
['low', 'est</w>']
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

END = "</w>"  # the end-of-word marker

Pair = tuple[str, str]


@dataclass(frozen=True)
class MergeStep:
    """One merge: the pair merged, how often it occurred, and the corpus afterwards.

    `segmentations` maps each training word to its symbols after this merge (the "vocabulary"
    of Sennrich et al.); `symbols` is the sorted set of distinct symbols those words now use;
    `corpus_length` is how many symbols the whole corpus takes to write (each word times its count).
    """

    number: int  # 1 for the first merge
    pair: Pair
    count: int
    segmentations: dict[str, tuple[str, ...]]
    symbols: tuple[str, ...]
    corpus_length: int

    @property
    def symbol(self) -> str:
        """The new symbol: the pair written as one string."""
        return self.pair[0] + self.pair[1]


@dataclass(frozen=True)
class BpeTrace:
    """Everything learning did: the word counts, the starting alphabet and one `MergeStep` per merge."""

    word_counts: dict[str, int]
    alphabet: tuple[str, ...]  # the symbols before any merge: every character seen, and END
    steps: tuple[MergeStep, ...]

    @property
    def merges(self) -> list[Pair]:
        return [step.pair for step in self.steps]


def word_counts(corpus: Sequence[str]) -> Counter:
    """How often each word occurs; every entry of `corpus` (a word or a sentence) is split on whitespace.

    >>> word_counts(["a dog", "a cat"])
    Counter({'a': 2, 'dog': 1, 'cat': 1})
    """
    if isinstance(corpus, str) or not isinstance(corpus, Sequence):
        raise TypeError(f"The corpus must be a list of words or sentences, got {type(corpus).__name__}; "
                        "for one text, pass text.splitlines() or [text].")
    counts: Counter = Counter()
    for entry in corpus:
        if not isinstance(entry, str):
            raise TypeError(f"Every corpus entry must be a string, found {type(entry).__name__} ({entry!r:.40}).")
        counts.update(entry.split())
    if not counts:
        raise ValueError("The corpus holds no words; pass at least one non-empty sentence.")
    return counts


def split_word(word: str) -> tuple[str, ...]:
    """A word as its characters followed by the end-of-word marker.

    >>> split_word("low")
    ('l', 'o', 'w', '</w>')
    """
    if not isinstance(word, str) or not word or any(c.isspace() for c in word):
        raise ValueError(f"Expected one word (a non-empty string without spaces), got {word!r}; "
                         "split a sentence with .split() and segment each word.")
    return (*word, END)


def pair_counts(segmentations: dict[str, tuple[str, ...]], counts: dict[str, int]) -> Counter:
    """Occurrences of each adjacent symbol pair, each word's pairs counted as often as the word occurs.

    >>> pair_counts({"low": ("l", "o", "w", "</w>")}, {"low": 5})
    Counter({('l', 'o'): 5, ('o', 'w'): 5, ('w', '</w>'): 5})
    """
    pairs: Counter = Counter()
    for word, symbols in segmentations.items():
        for pair in zip(symbols, symbols[1:]):
            pairs[pair] += counts[word]
    return pairs


def best_pair(pairs: Counter) -> tuple[Pair, int]:
    """The most frequent pair and its count; a tie goes to the pair that sorts first.

    >>> best_pair(Counter({("s", "t"): 3, ("e", "s"): 3, ("l", "o"): 1}))
    (('e', 's'), 3)
    """
    if not pairs:
        raise ValueError("No pairs to merge: every word is a single symbol already.")
    pair = min(pairs, key=lambda p: (-pairs[p], p))
    return pair, pairs[pair]


def merge_pair(symbols: Sequence[str], pair: Pair) -> tuple[str, ...]:
    """`symbols` with every occurrence of `pair` joined into one symbol, scanning left to right.

    >>> merge_pair(("l", "o", "w", "</w>"), ("o", "w"))
    ('l', 'ow', '</w>')
    >>> merge_pair(("a", "a", "a"), ("a", "a"))  # overlapping: the leftmost pair wins
    ('aa', 'a')
    """
    if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
        raise TypeError(f"pair must be two symbols as a tuple, e.g. ('o', 'w'), got {pair!r}.")
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


def _check_n_merges(n_merges: object) -> int:
    if isinstance(n_merges, bool) or not isinstance(n_merges, int) or n_merges < 0:
        raise ValueError(f"n_merges must be an integer >= 0, got {n_merges!r}; e.g. 10 for a toy corpus.")
    return n_merges


def trace_bpe(corpus: Sequence[str], n_merges: int) -> BpeTrace:
    """Learn up to `n_merges` merges on `corpus` and record every step (fewer if the words run out of pairs).

    >>> trace = trace_bpe(["low lower lowest"], 2)
    >>> [(step.pair, step.count) for step in trace.steps]
    [(('l', 'o'), 3), (('lo', 'w'), 3)]
    >>> trace.steps[-1].segmentations["lower"]
    ('low', 'e', 'r', '</w>')
    """
    n_merges = _check_n_merges(n_merges)
    counts = dict(word_counts(corpus))
    segmentations = {word: split_word(word) for word in counts}
    alphabet = tuple(sorted({s for symbols in segmentations.values() for s in symbols}))
    steps = []
    for number in range(1, n_merges + 1):
        pairs = pair_counts(segmentations, counts)
        if not pairs:
            break
        pair, count = best_pair(pairs)
        segmentations = {word: merge_pair(symbols, pair) for word, symbols in segmentations.items()}
        symbols = tuple(sorted({s for word_symbols in segmentations.values() for s in word_symbols}))
        length = sum(len(word_symbols) * counts[word] for word, word_symbols in segmentations.items())
        steps.append(MergeStep(number, pair, count, segmentations, symbols, length))
    return BpeTrace(counts, alphabet, tuple(steps))


def learn_bpe(corpus: Sequence[str], n_merges: int) -> list[Pair]:
    """The merges learned on `corpus`, in order: a list of (left, right) symbol pairs.

    >>> learn_bpe(["hug hug pug"], 2)  # ('u', 'g') occurs 3 times too, but ('g', '</w>') sorts first
    [('g', '</w>'), ('u', 'g</w>')]
    """
    return trace_bpe(corpus, n_merges).merges


def _check_merges(merges: object) -> list[Pair]:
    if isinstance(merges, (str, bytes)) or not isinstance(merges, Sequence):
        raise TypeError(f"merges must be a list of (left, right) pairs as learn_bpe returns, "
                        f"got {type(merges).__name__}.")
    for merge in merges:
        if not (isinstance(merge, (tuple, list)) and len(merge) == 2 and all(isinstance(s, str) for s in merge)):
            raise TypeError(f"Every merge must be a pair of strings such as ('e', 's'), found {merge!r:.40}; "
                            "pass the list that learn_bpe returns.")
    return [tuple(merge) for merge in merges]  # type: ignore[misc]


def apply_bpe(word: str, merges: Sequence[Pair]) -> list[str]:
    """Pieces of one word: its characters and `</w>`, with the merges replayed in the order learned.

    >>> merges = [("e", "s"), ("es", "t"), ("est", "</w>"), ("l", "o")]
    >>> apply_bpe("lowest", merges), apply_bpe("xyz", merges)
    (['lo', 'w', 'est</w>'], ['x', 'y', 'z', '</w>'])
    """
    symbols = split_word(word)
    for pair in _check_merges(merges):
        symbols = merge_pair(symbols, pair)
    return list(symbols)


__all__ = ["END", "MergeStep", "BpeTrace", "word_counts", "split_word", "pair_counts", "best_pair",
           "merge_pair", "trace_bpe", "learn_bpe", "apply_bpe"]

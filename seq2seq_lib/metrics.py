"""Translation quality: sacreBLEU on text, the tutorials' token BLEU, and perplexity.

Two BLEU numbers, because readers meet both:
- `sacre_bleu`: sacreBLEU on detokenized text with its own tokenizer; the signature string
  says exactly how it was computed, so numbers from different papers can be compared.
- `token_bleu`: BLEU on the model's own lowercased tokens (4-gram, uniform weights, brevity
  penalty, corpus level, no smoothing), the way the published tutorials of this recipe report
  it (torchtext's `bleu_score`, times 100). It is usually a little higher than sacreBLEU.
  A subword model's pieces are joined back into text and cut into words first
  (`bleu_token_lists`), so its token BLEU counts words like a word model's.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

from sacrebleu.metrics import BLEU, CHRF

MAX_EXP = 700.0  # math.exp overflows just above 709


@dataclass(frozen=True)
class BleuResult:
    """A sacreBLEU metric's score (BLEU or chrF, 0-100), its signature (how it was computed) and full result."""

    score: float
    signature: str
    result: Any

    def __str__(self) -> str:
        return f"{self.result} | {self.signature}"


def _check_corpus(hypotheses: Sequence, references: Sequence, kind: type, what: str) -> None:
    for name, corpus in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(corpus, str) or not isinstance(corpus, Sequence):
            raise TypeError(f"{name} must be a list of {what}, got {type(corpus).__name__}; "
                            "wrap a single sentence in a list.")
    if len(hypotheses) != len(references):
        raise ValueError(f"Got {len(hypotheses)} hypotheses but {len(references)} references; "
                         "pass one reference per hypothesis, in the same order.")
    if len(hypotheses) == 0:
        raise ValueError("BLEU of an empty corpus is undefined; pass at least one sentence pair.")
    bad = next((x for x in list(hypotheses) + list(references) if not isinstance(x, kind)), None)
    if bad is not None:
        raise TypeError(f"Every entry must be {what[:-1]}, found {type(bad).__name__} ({bad!r:.40}).")


def _corpus_score(metric: BLEU | CHRF, hypotheses: Sequence[str], references: Sequence[str]) -> BleuResult:
    _check_corpus(hypotheses, references, str, "strings")
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return BleuResult(round(result.score, 10), str(metric.get_signature()), result)


def sacre_bleu(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False) -> BleuResult:
    """Corpus BLEU of detokenized hypotheses against one reference each, with sacreBLEU's signature.

    >>> sacre_bleu(["A dog runs."], ["A dog runs."]).score
    100.0
    """
    return _corpus_score(BLEU(lowercase=lowercase), hypotheses, references)


def chrf(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False) -> BleuResult:
    """Corpus chrF (character 6-gram F-score, sacreBLEU's defaults), which credits partly right words.

    >>> chrf(["A dog runs."], ["A dog runs."]).score
    100.0
    """
    return _corpus_score(CHRF(lowercase=lowercase), hypotheses, references)


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """Counts of the n-grams of a token list.

    >>> ngram_counts(["a", "b", "a", "b"], 2)
    Counter({('a', 'b'): 2, ('b', 'a'): 1})
    """
    if isinstance(tokens, str):
        raise TypeError(f"ngram_counts takes a list of tokens, not the string {tokens[:40]!r}; split it first.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}; BLEU counts n = 1 to 4.")
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def token_bleu_statistics(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]] | Sequence[
                          Sequence[Sequence[str]]], max_n: int = 4) -> list[list[int]]:
    """Per sentence: [matches_1..max_n, n-grams_1..max_n, hypothesis length, closest reference length].

    Matches are clipped by the most any one reference has. Summed over sentences these are all
    that corpus BLEU needs (`bleu_from_statistics`), so a resampled corpus is scored from sums.

    >>> token_bleu_statistics([["a", "dog", "runs"]], [["a", "dog", "ran"]], max_n=2)
    [[2, 1, 3, 2, 3, 3]]
    """
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}; BLEU uses 4.")
    _check_corpus(hypotheses, references, Sequence, "token lists")
    rows = []
    for hyp, refs in zip(hypotheses, references):
        if isinstance(hyp, str) or (refs and isinstance(refs, str)):
            raise TypeError("token_bleu takes token lists such as ['a', 'dog'], not strings; use "
                            "str.split() or Field.preprocess first (or sacre_bleu for text).")
        refs = [refs] if not refs or isinstance(refs[0], str) else refs  # one reference or several
        matches, totals = [], []
        for n in range(1, max_n + 1):
            hyp_ngrams = ngram_counts(hyp, n)
            most = Counter()
            for ref in refs:
                most |= ngram_counts(ref, n)  # per n-gram, the most any one reference has
            matches.append(sum(min(count, most[gram]) for gram, count in hyp_ngrams.items()))
            totals.append(max(len(hyp) - n + 1, 0))
        closest = min((len(r) for r in refs), key=lambda n: (abs(n - len(hyp)), n))
        rows.append(matches + totals + [len(hyp), closest])
    return rows


def bleu_from_statistics(sums: Sequence[int], max_n: int = 4) -> float:
    """Corpus BLEU (0-100) from `token_bleu_statistics` summed over the sentences.

    >>> bleu_from_statistics([2, 1, 3, 2, 3, 3], max_n=2)  # p = 2/3, 1/2; c = r = 3, so BP = 1
    57.735026919
    """
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}; BLEU uses 4.")
    if len(sums) != 2 * max_n + 2:
        raise ValueError(f"Expected {2 * max_n + 2} sums for max_n={max_n} (matches, n-grams, lengths), "
                         f"got {len(sums)}; pass token_bleu_statistics(...) summed over sentences.")
    sums = [int(x) for x in sums]
    if min(sums) < 0:
        raise ValueError(f"BLEU statistics are counts and cannot be negative, got {sums}.")
    matches, totals, (hyp_length, ref_length) = sums[:max_n], sums[max_n:2 * max_n], sums[2 * max_n:]
    if any(m > t for m, t in zip(matches, totals)) or max(totals) > hyp_length:
        raise ValueError(f"These are not BLEU statistics: matches cannot exceed the n-grams, nor n-grams the "
                         f"hypothesis length, got {sums}; pass token_bleu_statistics(...) summed over sentences.")
    if min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = 1.0 if hyp_length > ref_length else math.exp(1 - ref_length / hyp_length)
    return round(100 * brevity * math.exp(log_precision), 10)


def token_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]] | Sequence[
               Sequence[Sequence[str]]], max_n: int = 4) -> float:
    """Corpus BLEU (0-100) on token lists, as the tutorials report it; one or several references each.

    Clipped n-gram precisions p_1..p_4 are summed over the corpus, combined as a geometric mean
    and multiplied by the brevity penalty exp(1 - r / c) when the hypotheses are shorter (c
    tokens) than the references closest in length (r tokens). Any p_n = 0 gives 0 (no smoothing).

    >>> hyp = "a man is riding a horse".split()
    >>> ref = "a man is riding a brown horse".split()
    >>> round(token_bleu([hyp], [ref]), 2)  # p = 6/6, 4/5, 3/4, 2/3; BP = exp(1 - 7/6)
    67.32
    >>> token_bleu([hyp], [hyp]), token_bleu([["a", "dog"]], [["a", "cat"]])
    (100.0, 0.0)
    """
    rows = token_bleu_statistics(hypotheses, references, max_n)
    return bleu_from_statistics([sum(column) for column in zip(*rows)], max_n)


def perplexity(mean_loss: float) -> float:
    """exp(mean cross-entropy per token); inf instead of an overflow error for huge losses.

    >>> perplexity(0.0), round(perplexity(math.log(44)), 6), perplexity(1e6)
    (1.0, 44.0, inf)
    """
    if isinstance(mean_loss, Real) and not isinstance(mean_loss, bool):  # numpy floats too
        mean_loss = float(mean_loss)
    if not isinstance(mean_loss, float) or math.isnan(mean_loss):
        raise ValueError(f"mean_loss must be a number, got {mean_loss!r}; pass the mean loss per token "
                         "(e.g. evaluate(...)['loss'], or loss.item() for a tensor). A NaN loss means "
                         "training diverged.")
    if mean_loss < 0:
        raise ValueError(f"A cross-entropy loss cannot be negative, got {mean_loss!r}; pass the mean "
                         "loss per token, not a log-probability.")
    return math.exp(mean_loss) if mean_loss < MAX_EXP else math.inf


def word_tokens(texts: Sequence[str], lang: str = "en", lower: bool = True) -> list[list[str]]:
    """spaCy word tokens of each text (lowercased if `lower`), as a word Field cuts them; an empty text has none.

    >>> word_tokens(["A dog, running.", ""])
    [['a', 'dog', ',', 'running', '.'], []]
    """
    from .fields import spacy_tokenizer

    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"word_tokens takes a list of texts, got {type(texts).__name__}; wrap one text in a list.")
    bad = next((text for text in texts if not isinstance(text, str)), None)
    if bad is not None:
        raise TypeError(f"Every text must be a string, found {type(bad).__name__} ({bad!r:.40}).")
    docs = iter(spacy_tokenizer(lang).pipe([text for text in texts if text.strip()]))
    return [[t.text.lower() if lower else t.text for t in next(docs)] if text.strip() else [] for text in texts]


def bleu_token_lists(field: Any, results: Sequence[Any], references: Sequence[str]
                     ) -> tuple[list[list[str]], list[list[str]]]:
    """(hypotheses, references) as word lists for `token_bleu`, from a translator's results and reference texts.

    A word field's output tokens are words already, and the references are cut by the field itself.
    A subword field writes pieces, not words: its detokenized output (`Translation.text`) and the
    references are both cut into spaCy words, lowercased like the field, so that a subword model's
    token BLEU counts the same words as a word model's.
    """
    from .subwords import SubwordField

    if len(results) != len(references):
        raise ValueError(f"Got {len(results)} translations but {len(references)} references; pass one "
                         "reference per translation, in the same order.")
    if isinstance(field, SubwordField):
        return (word_tokens([r.text for r in results], field.lang, field.lower),
                word_tokens(list(references), field.lang, field.lower))
    return [r.tokens for r in results], field.preprocess_many(references)


@dataclass(frozen=True)
class BleuReport:
    """Both BLEU scores of a split, the hypotheses that produced them, and the settings used."""

    sacre: BleuResult
    token_bleu: float
    hypotheses: list[str]
    beam_size: int
    chrf: BleuResult

    def __str__(self) -> str:
        return (f"BLEU {self.sacre.score:.2f} (sacreBLEU, {self.sacre.signature}) | "
                f"token BLEU {self.token_bleu:.2f} | {len(self.hypotheses)} sentences, beam {self.beam_size}")


def check_pairs(pairs: object) -> None:
    """`pairs` is a non-empty list of (source, reference) sentence pairs, as load_multi30k returns them."""
    if isinstance(pairs, str) or not isinstance(pairs, Sequence) or len(pairs) == 0:
        raise ValueError("pairs must be a non-empty list of (source, reference) string pairs, "
                         "e.g. prepared.pairs['test'] or load_multi30k('test').")
    bad = next((p for p in pairs if not (isinstance(p, (tuple, list)) and len(p) == 2
                                         and all(isinstance(side, str) for side in p))), None)
    if bad is not None:
        raise ValueError(f"Every entry of pairs must be a (source, reference) pair of strings, got {bad!r:.80}.")
    empty = next((i for i, pair in enumerate(pairs) if not all(side.strip() for side in pair)), None)
    if empty is not None:
        raise ValueError(f"pairs[{empty}] = {pairs[empty]!r} has an empty source or reference; drop that pair.")


def evaluate_bleu(translator: Any, pairs: Sequence[tuple[str, str]], beam_size: int = 1,
                  batch_size: int = 256, max_len: int = 50, length_penalty: float = 1.0,
                  src_field: Any = None, trg_field: Any = None) -> BleuReport:
    """Translate the sources of (source, reference) pairs in batches and score them with both BLEUs.

    `translator` is a Translator, or a model together with `src_field=` and `trg_field=`.
    sacreBLEU lowercases when the target field does (the model only ever writes lowercase).
    Both BLEUs score words, for word and subword models alike (`bleu_token_lists`).
    """
    from .translator import Translator

    if not isinstance(translator, Translator):
        if src_field is None or trg_field is None:
            raise TypeError(f"evaluate_bleu takes a Translator, or a model with src_field= and trg_field=; "
                            f"got {type(translator).__name__} without fields.")
        translator = Translator(translator, src_field, trg_field)
    check_pairs(pairs)
    sources, references = [p[0] for p in pairs], [p[1] for p in pairs]
    results = translator.translate_batch(sources, beam_size, max_len, length_penalty, batch_size)
    hypotheses = [r.text for r in results]
    field = translator.trg_field
    tokens = token_bleu(*bleu_token_lists(field, results, references))
    return BleuReport(sacre_bleu(hypotheses, references, lowercase=field.lower), tokens, hypotheses, beam_size,
                      chrf(hypotheses, references, lowercase=field.lower))


__all__ = ["BleuResult", "BleuReport", "sacre_bleu", "chrf", "ngram_counts", "token_bleu_statistics",
           "bleu_from_statistics", "token_bleu", "perplexity", "word_tokens", "bleu_token_lists", "evaluate_bleu"]

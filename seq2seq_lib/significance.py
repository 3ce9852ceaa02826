"""How sure is a score? Bootstrap confidence intervals and paired significance over test sentences.

A test set is one sample of the sentences a model could be asked to translate; scored on another
sample of the same size, the model would get another BLEU. The bootstrap estimates how much:

1. Every metric here is a corpus metric whose score is a function of per-sentence *sufficient
   statistics* summed over the corpus (`SentenceStatistics`, rows (N, K)): token BLEU and
   sacreBLEU sum clipped n-gram matches, n-gram counts and lengths; chrF sums character and word
   n-gram counts and matches; perplexity sums each sentence's negative log-likelihood and tokens.
2. A resample draws N sentence indices with replacement (`resample_counts`: row r says how many
   times each sentence was drawn, (R, N)), sums the statistics with those multiplicities and
   recomputes the corpus score: R resamples cost R sums, not R re-tokenizations.
3. The 95% confidence interval is the 2.5th and 97.5th percentiles of the R resampled scores
   (the percentile bootstrap); the point estimate is the score of the test set itself, which is
   the same computation with every sentence drawn once, so it equals `metrics.token_bleu`,
   `metrics.sacre_bleu` and `metrics.chrf` exactly.
4. Paired bootstrap (Koehn, 2004): systems A and B are scored on the *same* resamples; the
   p-value that A is not better than B is the share of resamples in which A's score <= B's. Below
   0.05, A is better with 95% confidence; identical outputs give 1.

All metrics, both systems and every model of a comparison share one set of resamples drawn from
a seeded numpy generator, so numbers are reproducible and the metrics are compared on the same
draws. sacreBLEU and chrF statistics come from sacreBLEU itself (its `_extract_corpus_statistics`
and `_compute_score_from_stats`, the functions its own bootstrap uses). Its paired test is not
used: `paired_bs` tests |A - B| against a recentred null and reports p = 1 / (R + 1) for two
identical systems, where the one-sided question here ("is A better?") gives 1.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from .metrics import _check_corpus, bleu_from_statistics, perplexity, token_bleu_statistics

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True, eq=False)
class SentenceStatistics:
    """One metric's sufficient statistics, rows (N sentences, K), and `combine`: summed rows (K,) -> score."""

    metric: str
    rows: np.ndarray
    combine: Callable[[np.ndarray], float]
    signature: str = ""  # how the metric was computed (sacreBLEU's signature), "" where there is nothing to say
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.rows, np.ndarray) or self.rows.ndim != 2 or len(self.rows) == 0:
            raise ValueError(f"rows must be a non-empty (sentences, statistics) array, got "
                             f"{getattr(self.rows, 'shape', type(self.rows).__name__)}; build it with "
                             "token_bleu_sentences, sacrebleu_sentences, chrf_sentences or perplexity_sentences.")

    def __len__(self) -> int:
        return len(self.rows)

    def resampled(self, counts: np.ndarray) -> np.ndarray:
        """Scores of resampled corpora: counts (R, N) times each sentence is drawn -> (R,) scores."""
        counts = _check_counts(counts, len(self))
        return np.array([self.combine(row @ self.rows) for row in counts.astype(self.rows.dtype)])

    def score(self) -> float:
        """The score of the test set itself: every sentence drawn once.

        >>> round(perplexity_sentences([2.0, 4.0], [2, 2]).score(), 4)  # exp(6 / 4)
        4.4817
        """
        return float(self.resampled(np.ones((1, len(self)), dtype=np.int64))[0])


def token_bleu_sentences(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
                         ) -> SentenceStatistics:
    """The series' token BLEU (`metrics.token_bleu`) of word-token lists, one reference each.

    >>> hyp, ref = "a man is riding a horse".split(), "a man is riding a brown horse".split()
    >>> round(token_bleu_sentences([hyp], [ref]).score(), 2)  # as in metrics.token_bleu's example
    67.32
    """
    rows = np.array(token_bleu_statistics(hypotheses, references), dtype=np.int64)  # (N, 10)
    return SentenceStatistics("token BLEU", rows, bleu_from_statistics)


def _sacrebleu_sentences(name: str, metric: BLEU | CHRF, hypotheses: Sequence[str],
                         references: Sequence[str]) -> SentenceStatistics:
    _check_corpus(hypotheses, references, str, "strings")
    rows = np.array(metric._extract_corpus_statistics(list(hypotheses), [list(references)]), dtype=np.int64)

    def combine(sums: np.ndarray) -> float:
        return round(float(metric._compute_score_from_stats([int(x) for x in sums]).score), 10)

    return SentenceStatistics(name, rows, combine, str(metric.get_signature()))


def sacrebleu_sentences(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False
                        ) -> SentenceStatistics:
    """sacreBLEU (`metrics.sacre_bleu`) of detokenized text, one reference each, with its signature.

    >>> sacrebleu_sentences(["A dog runs."], ["A dog runs."]).score()
    100.0
    """
    return _sacrebleu_sentences("sacreBLEU", BLEU(lowercase=lowercase), hypotheses, references)


def chrf_sentences(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False
                   ) -> SentenceStatistics:
    """chrF (`metrics.chrf`, sacreBLEU's defaults) of detokenized text, one reference each.

    >>> chrf_sentences(["A dog runs."], ["A dog runs."]).score()
    100.0
    """
    return _sacrebleu_sentences("chrF", CHRF(lowercase=lowercase), hypotheses, references)


def perplexity_sentences(nll: Sequence[float], tokens: Sequence[int]) -> SentenceStatistics:
    """Perplexity exp(total NLL / total tokens) from each sentence's summed NLL (nats) and token count.

    `evaluation.sentence_nll` gives both for a model, teacher-forced.

    >>> round(perplexity_sentences([3.0, 1.0], [2, 2]).score(), 4)  # exp(4 / 4)
    2.7183
    """
    nll, tokens = np.asarray(nll, dtype=np.float64).reshape(-1), np.asarray(tokens).reshape(-1)
    if len(nll) != len(tokens) or len(nll) == 0:
        raise ValueError(f"Got {len(nll)} NLL sums and {len(tokens)} token counts; pass one of each per "
                         "sentence (evaluation.sentence_nll returns both).")
    if not np.all(np.isfinite(nll)) or np.any(nll < 0):
        raise ValueError("Every NLL must be a finite number >= 0 (a sum of -log p in nats); a NaN or inf "
                         "means the model diverged.")
    if tokens.dtype.kind not in "iu" or np.any(tokens < 1):
        raise ValueError("Every token count must be an integer >= 1 (a sentence's target tokens, <eos> included).")
    rows = np.stack([nll, tokens.astype(np.float64)], axis=1)  # (N, 2)
    return SentenceStatistics("perplexity", rows, lambda sums: perplexity(float(sums[0] / sums[1])),
                              higher_is_better=False)


def resample_counts(n_sentences: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """(n_resamples, n_sentences) counts: how many times each sentence is drawn in each resample.

    Each row draws n_sentences indices with replacement from numpy's generator seeded with `seed`.

    >>> counts = resample_counts(5, 3, seed=1)
    >>> counts.shape, counts.sum(axis=1).tolist(), bool((counts == resample_counts(5, 3, seed=1)).all())
    ((3, 5), [5, 5, 5], True)
    """
    for name, value, low in (("n_sentences", n_sentences, 1), ("n_resamples", n_resamples, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}; e.g. n_resamples="
                             f"{DEFAULT_RESAMPLES}, seed=0.")
    indices = np.random.default_rng(seed).integers(0, n_sentences, size=(n_resamples, n_sentences))
    return np.stack([np.bincount(row, minlength=n_sentences) for row in indices])


def _check_counts(counts: np.ndarray, n_sentences: int) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != n_sentences or counts.dtype.kind not in "iu" or np.any(counts < 0):
        raise ValueError(f"counts must be non-negative integers shaped (resamples, {n_sentences}), got "
                         f"{counts.dtype} {counts.shape}; make them with resample_counts({n_sentences}, ...) "
                         "for the same sentences.")
    return counts


@dataclass(frozen=True)
class Interval:
    """A score (the test set's own) with the bounds of its bootstrap confidence interval."""

    value: float
    low: float
    high: float
    confidence: float = CONFIDENCE

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def confidence_interval(statistics: SentenceStatistics, counts: np.ndarray | None = None,
                        n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                        confidence: float = CONFIDENCE) -> Interval:
    """The test-set score and its percentile-bootstrap interval; `counts` (R, N) or R fresh seeded resamples.

    >>> stats = perplexity_sentences([1.0, 2.0, 3.0, 4.0], [2, 2, 2, 2])
    >>> interval = confidence_interval(stats, n_resamples=200)
    >>> interval.low <= interval.value <= interval.high, round(interval.value, 3)
    (True, 3.49)
    """
    if not isinstance(statistics, SentenceStatistics):
        raise TypeError(f"Expected SentenceStatistics, got {type(statistics).__name__}; build them with "
                        "sacrebleu_sentences(...) or a sibling.")
    if isinstance(confidence, bool) or not isinstance(confidence, float) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a float in (0, 1), got {confidence!r}; 0.95 is usual.")
    counts = resample_counts(len(statistics), n_resamples, seed) if counts is None else counts
    scores = statistics.resampled(counts)
    low, high = np.quantile(scores, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(statistics.score(), float(low), float(high), confidence)


def paired_bootstrap(a: SentenceStatistics, b: SentenceStatistics, counts: np.ndarray | None = None,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> float:
    """p-value that system A is not better than B: the share of paired resamples where A's score <= B's.

    `a` and `b` must be the same metric on the same sentences in the same order (two systems'
    outputs for one test set). Where lower is better (perplexity), A wins a resample with the lower score.

    >>> same = chrf_sentences(["a dog runs", "two men"], ["a dog runs", "two women"])
    >>> paired_bootstrap(same, same, n_resamples=50)
    1.0
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, SentenceStatistics):
            raise TypeError(f"{name} must be SentenceStatistics, got {type(value).__name__}.")
    if a.metric != b.metric or a.signature != b.signature or a.rows.shape[1] != b.rows.shape[1]:
        raise ValueError(f"Cannot compare {a.metric} ({a.signature or 'no signature'}) with {b.metric} "
                         f"({b.signature or 'no signature'}); score both systems with the same metric and settings.")
    if len(a) != len(b):
        raise ValueError(f"System A has {len(a)} sentences and B {len(b)}; a paired test needs both "
                         "systems' outputs for the same test sentences, in the same order.")
    counts = resample_counts(len(a), n_resamples, seed) if counts is None else counts
    scores_a, scores_b = a.resampled(counts), b.resampled(counts)
    not_better = scores_a <= scores_b if a.higher_is_better else scores_a >= scores_b
    return float(np.mean(not_better))


__all__ = ["DEFAULT_RESAMPLES", "CONFIDENCE", "SentenceStatistics", "Interval", "token_bleu_sentences",
           "sacrebleu_sentences", "chrf_sentences", "perplexity_sentences", "resample_counts",
           "confidence_interval", "paired_bootstrap"]

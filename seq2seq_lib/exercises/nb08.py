"""Exercises of notebook 08: one step of beam search, corpus BLEU, the brevity penalty, and the
GNMT length penalty written as a function.

>>> from seq2seq_lib.exercises import check
>>> check("08.brevity", 0.8948).correct
✅ 08.brevity: correct. exp(1 - 10000 / 9000) = 0.8948: short output loses about 10%.
True
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from ..metrics import token_bleu
from . import as_number, exercise

# ---------------------------------------------------------------- 08.beam_step
# Two live hypotheses (beam size 2) with their total log-probabilities, and the model's
# log-probabilities for the next token after each of them.
BEAMS = {"a man": -1.0, "two men": -2.0}
NEXT_LOG_PROBS = {
    "a man": {"is": -1.2, "in": -1.3, "sits": -1.5},
    "two men": {"are": -0.9, "in": -1.0, "sit": -2.5},
}
BEAM_SIZE = 2

# ---------------------------------------------------------------- 08.corpus_bleu
HYPOTHESES = [
    "a man is playing a guitar on a stage .".split(),
    "two dogs run in the snow .".split(),
    "a woman in a red shirt is cooking .".split(),
]
REFERENCES = [
    "a man is playing the guitar on a stage .".split(),
    "two dogs are running through the snow .".split(),
    "a woman in a red shirt cooks food in a kitchen .".split(),
]

# ---------------------------------------------------------------- 08.brevity
HYP_LENGTH, REF_LENGTH = 9_000, 10_000  # tokens in all hypotheses / all references of a test set

# ---------------------------------------------------------------- 08.gnmt_penalty
# (length, alpha) pairs the learner's function is tried on
GNMT_CASES = [(1, 0.6), (3, 0.6), (8, 0.6), (20, 0.6), (5, 0.0), (5, 1.0), (12, 0.2), (30, 1.5)]


def extend_beams(beams: dict[str, float], next_log_probs: dict[str, dict[str, float]],
                 beam_size: int) -> list[tuple[str, float]]:
    """The `beam_size` best one-token extensions of all beams together, best first.

    >>> extend_beams(BEAMS, NEXT_LOG_PROBS, 2)
    [('a man is', -2.2), ('a man in', -2.3)]
    """
    candidates = [(f"{prefix} {token}", round(score + log_prob, 10))
                  for prefix, score in beams.items() for token, log_prob in next_log_probs[prefix].items()]
    return sorted(candidates, key=lambda c: -c[1])[:beam_size]


def brevity_penalty(hyp_length: int, ref_length: int) -> float:
    """BLEU's brevity penalty: 1 when the hypotheses are longer, else exp(1 - r / c).

    >>> round(brevity_penalty(9, 10), 4), brevity_penalty(12, 10)
    (0.8948, 1.0)
    """
    return 1.0 if hyp_length > ref_length else math.exp(1 - ref_length / hyp_length)


def gnmt_penalty(length: int, alpha: float) -> float:
    """The length penalty of Wu et al. (2016): ((5 + length) / 6) ** alpha; 1 at length 1 or alpha 0.

    >>> gnmt_penalty(1, 0.6), gnmt_penalty(7, 1.0)
    (1.0, 2.0)
    """
    return ((5 + length) / 6) ** alpha


def _texts(answer: object) -> list[str] | None:
    if isinstance(answer, str) or not isinstance(answer, Sequence):
        return None
    texts = []
    for item in answer:
        if isinstance(item, (tuple, list)) and item and isinstance(item[0], str):
            item = item[0]  # a (text, score) pair
        if not isinstance(item, str):
            return None
        texts.append(" ".join(item.split()))
    return texts


@exercise("08.beam_step")
def beam_step(answer: object) -> tuple[bool, str]:
    """The two hypotheses that survive one step of beam search (beam size 2), best first."""
    expected = [text for text, _ in extend_beams(BEAMS, NEXT_LOG_PROBS, BEAM_SIZE)]
    texts = _texts(answer)
    if texts is None:
        return False, "answer with a list of the surviving hypotheses as strings, e.g. ['a man is', '...']."
    if texts == expected:
        return True, ("'a man in' (-1.0 - 1.3 = -2.3) beats 'two men are' (-2.0 - 0.9 = -2.9) although "
                      "'are' is the likelier next word: the beam's own score counts, and all extensions "
                      "of all beams compete in one pool.")
    if sorted(texts) == sorted(expected):
        return False, "the right two, but list the higher total log-probability first."
    if len(texts) != BEAM_SIZE:
        return False, f"beam size {BEAM_SIZE} keeps exactly {BEAM_SIZE} hypotheses after each step."
    per_beam = [f"{prefix} {max(options, key=options.get)}" for prefix, options in NEXT_LOG_PROBS.items()]
    if sorted(texts) == sorted(per_beam):
        return False, ("that keeps the best extension of each beam separately. Beam search pools all "
                       "extensions of all beams and keeps the best 2 overall, even when both come from "
                       "the same beam.")
    by_step_only = sorted(((f"{p} {t}", lp) for p, opts in NEXT_LOG_PROBS.items() for t, lp in opts.items()),
                          key=lambda c: -c[1])[:BEAM_SIZE]
    if texts == [t for t, _ in by_step_only] or sorted(texts) == sorted(t for t, _ in by_step_only):
        return False, ("you ranked by the new token's log-probability alone. Add each beam's own score: "
                       "total = log P(prefix) + log P(token | prefix).")
    return False, "score every extension as beam score + token log-prob, then keep the 2 highest totals."


@exercise("08.corpus_bleu")
def corpus_bleu(answer: object) -> tuple[bool, str]:
    """Corpus-level token BLEU (0-100) of HYPOTHESES against REFERENCES."""
    expected = token_bleu(HYPOTHESES, REFERENCES)
    value = as_number(answer)
    if value is None:
        return False, "answer with one number: the corpus BLEU on a 0-100 scale, e.g. token_bleu(...)."
    if math.isclose(value, expected, abs_tol=0.01):
        return True, f"{expected:.2f}: n-gram matches and lengths are summed over all sentences first."
    sentence_mean = sum(token_bleu([h], [r]) for h, r in zip(HYPOTHESES, REFERENCES)) / len(HYPOTHESES)
    if math.isclose(value, sentence_mean, abs_tol=0.01):
        return False, ("that is the mean of the sentence BLEUs. BLEU is a corpus metric: sum the n-gram "
                       "matches over all sentences, then combine once (token_bleu(HYPOTHESES, REFERENCES)). "
                       "A sentence with no 4-gram match scores 0 on its own and drags the mean down.")
    if math.isclose(value * 100, expected, abs_tol=0.01):
        return False, "right idea, wrong scale: report BLEU on 0-100 (multiply by 100)."
    joined = token_bleu([[" ".join(h)] for h in HYPOTHESES], [[" ".join(r)] for r in REFERENCES])
    if math.isclose(value, joined, abs_tol=0.01):
        return False, "pass token lists, not whole sentences as one token each."
    return False, "compute it on the token lists as given: token_bleu(HYPOTHESES, REFERENCES)."


@exercise("08.brevity")
def brevity(answer: object) -> tuple[bool, str]:
    """The brevity penalty for HYP_LENGTH hypothesis tokens against REF_LENGTH reference tokens."""
    expected = brevity_penalty(HYP_LENGTH, REF_LENGTH)
    value = as_number(answer)
    if value is None:
        return False, "answer with one number between 0 and 1."
    if math.isclose(value, expected, abs_tol=1e-4):
        return True, f"exp(1 - {REF_LENGTH} / {HYP_LENGTH}) = {expected:.4f}: short output loses about 10%."
    if math.isclose(value, 1.0, abs_tol=1e-9):
        return False, ("the hypotheses are shorter than the references here (c < r), so the penalty is below "
                       "1: exp(1 - r / c).")
    if math.isclose(value, math.exp(1 - HYP_LENGTH / REF_LENGTH), abs_tol=1e-4):
        return False, "the ratio is upside down: exp(1 - r / c), reference length over hypothesis length."
    if math.isclose(value, HYP_LENGTH / REF_LENGTH, abs_tol=1e-4):
        return False, "BLEU's penalty is not the plain ratio c / r; it is exp(1 - r / c)."
    return False, "c = hypothesis tokens, r = reference tokens; when c < r the penalty is exp(1 - r / c)."


@exercise("08.gnmt_penalty")
def gnmt(answer: object) -> tuple[bool, str]:
    """A function (length, alpha) -> ((5 + length) / 6) ** alpha, tried on GNMT_CASES."""
    if not callable(answer):
        return False, ("answer with the function itself, e.g. `def my_penalty(length, alpha): ...` and then "
                       "`answer = my_penalty` (no parentheses).")
    values = []
    for length, alpha in GNMT_CASES:
        try:
            result = answer(length, alpha)
            value = as_number(result)
        except Exception as exc:  # the learner's code: report, do not crash
            return False, (f"calling it as f(length={length}, alpha={alpha}) raised {type(exc).__name__}: {exc}. "
                           "It takes the hypothesis length and alpha, and returns one number.")
        if value is None:
            return False, f"f({length}, {alpha}) should return one finite number, not {type(result).__name__}."
        values.append(value)
    expected = [gnmt_penalty(length, alpha) for length, alpha in GNMT_CASES]
    if all(math.isclose(v, e, rel_tol=1e-6) for v, e in zip(values, expected)):
        return True, ("((5 + |y|) / 6) ** alpha is 1 for a one-token hypothesis and grows more slowly than "
                      "|y| ** alpha, so it corrects the bias towards short output more gently than dividing "
                      "by the length.")

    def same(formula) -> bool:
        return all(math.isclose(v, formula(n, a), rel_tol=1e-6) for v, (n, a) in zip(values, GNMT_CASES))

    if same(lambda n, a: n ** a):
        return False, ("that is |y| ** alpha, the denominator of the library's `length_normalised`. GNMT's "
                       "penalty adds 5 to the length and divides by 6 before the power: ((5 + |y|) / 6) ** alpha.")
    if same(lambda n, a: (5 + n) / 6):
        return False, "the right base, but raise it to the power alpha: ((5 + length) / 6) ** alpha."
    if same(lambda n, a: (5 + n) ** a / 6) or same(lambda n, a: 5 + n / 6 ** a) or same(lambda n, a: 5 + (n / 6) ** a):
        return False, ("check the brackets: add 5 to the length first, divide the sum by 6, then take the "
                       "power, ((5 + length) / 6) ** alpha.")
    if same(lambda n, a: ((5 + n) / 6) ** -a) or same(lambda n, a: (6 / (5 + n)) ** a):
        return False, ("upside down: the penalty grows with the length (the score divides by it), so it is "
                       "((5 + length) / 6) ** alpha, at least 1.")
    if same(lambda n, a: (5 + n) ** a):
        return False, "divide by 6 as well: ((5 + length) / 6) ** alpha, so that a one-token hypothesis gets 1."
    return False, ("lp(y) = ((5 + |y|) / 6) ** alpha: for length 1 it is 1 whatever alpha, and for alpha 0 "
                   "it is 1 whatever the length. Try your function on those cases.")


# ---------------------------------------------------------------- 08.beam_bleu
# The experiment of exercise 5: the shipped classic model on the first EXPERIMENT_PAIRS test pairs of
# Multi30k (test_2016_flickr), with beam size EXPERIMENT_BEAM instead of greedy decoding.
EXPERIMENT_PAIRS, EXPERIMENT_BEAM = 100, 3


@lru_cache(maxsize=None)
def pretrained_bleu(beam_size: int, n_pairs: int = EXPERIMENT_PAIRS) -> tuple[float, float]:
    """(token BLEU, sacreBLEU) of Translator.from_pretrained("classic") on the first n_pairs test pairs
    (CPU; computed once per process)."""
    from ..data import load_multi30k
    from ..metrics import evaluate_bleu

    report = evaluate_bleu(_classic(), load_multi30k("test")[:n_pairs], beam_size=beam_size)
    return report.token_bleu, report.sacre.score


@lru_cache(maxsize=1)
def _classic():
    from ..translator import Translator

    return Translator.from_pretrained("classic")


@exercise("08.beam_bleu")
def beam_bleu(answer: object) -> tuple[bool, str]:
    """Token BLEU of the pretrained classic model on the first 100 test pairs with beam size 3 (within 0.01)."""
    value = as_number(answer)
    if value is None:
        return False, "answer with one number, the token BLEU on a 0-100 scale, e.g. report.token_bleu."
    try:
        expected, sacre = pretrained_bleu(EXPERIMENT_BEAM)
    except (FileNotFoundError, OSError) as exc:
        return False, (f"the checker needs the Multi30k test split and could not read it ({exc}); run the "
                       "notebook's data cells first or point SEQ2SEQ_DATA_DIR at the files.")

    def near(target: float) -> bool:
        return abs(value - target) <= 0.01

    if near(expected):
        greedy = pretrained_bleu(1)[0]
        return True, (f"{expected:.2f} against {greedy:.2f} greedily: on 100 sentences beam search changes most "
                      "translations, yet BLEU by only a fraction of a point, in either direction. A higher "
                      "log-probability is not always a closer match to the reference.")
    if near(pretrained_bleu(1)[0]):
        return False, f"that is greedy decoding (beam size 1): set the beam size to {EXPERIMENT_BEAM} and run again."
    if near(sacre) or near(pretrained_bleu(1)[1]):
        return False, ("that is sacreBLEU (report.sacre.score); the question asks for the token BLEU, "
                       "report.token_bleu.")
    if value < 1 and abs(100 * value - expected) <= 0.5:
        return False, "right idea, wrong scale: report BLEU on 0-100, as report.token_bleu gives it."
    if near(pretrained_bleu(EXPERIMENT_BEAM, 200)[0]) or near(pretrained_bleu(1, 200)[0]):
        return False, (f"that is a score on other sentences (the ci profile's 200 test pairs); use the first "
                       f"{EXPERIMENT_PAIRS}: load_multi30k('test')[:{EXPERIMENT_PAIRS}].")
    return False, (f"use Translator.from_pretrained('classic') (not your own model) on "
                   f"load_multi30k('test')[:{EXPERIMENT_PAIRS}] with "
                   f"evaluate_bleu(..., beam_size={EXPERIMENT_BEAM}).token_bleu.")

"""Exercises of notebook 05: a decoder step's logits, softmax with a temperature, teacher-forced inputs, perplexity.

>>> from seq2seq_lib.exercises import check
>>> check("05.logits_shape", (5893, 4)).correct
❌ 05.logits_shape: not yet. Hint: one row per sentence: logits are (batch, vocab_size), so the batch of 4 comes first.
False
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

from ..config import EOS, SOS
from . import as_number, as_shape, exercise

# 05.logits_shape: one step of the classic decoder on a batch of BATCH sentences
BATCH, TRG_VOCAB, EMB_DIM, HIDDEN_DIM, N_LAYERS = 4, 5_893, 256, 512, 2
# 05.softmax: a decoder's scores for four tokens, and the temperature to apply
LOGITS = (2.0, 1.0, 0.0, -1.0)
TEMPERATURE = 0.5
# 05.run_inputs: one target sentence, as the batch holds it
GOLD = (SOS, "two", "dogs", "play", ".", EOS)
# 05.perplexity: a decoder's logits over a vocabulary of four tokens at three teacher-forced steps, and the gold ids
STEP_LOGITS = ((2.0, 0.5, -1.0, 0.0),
               (0.0, 1.0, 3.0, -1.0),
               (1.0, 1.0, 0.0, 2.0))
GOLD_IDS = (0, 2, 1)


def softmax(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    """Probabilities of softmax(logits / temperature), in plain Python.

    >>> [round(p, 3) for p in softmax([2.0, 1.0, 0.0, -1.0])]
    [0.644, 0.237, 0.087, 0.032]
    """
    scaled = [x / temperature for x in logits]
    top = max(scaled)
    exps = [math.exp(x - top) for x in scaled]
    return [e / sum(exps) for e in exps]



@exercise("05.logits_shape")
def logits_shape(answer: object) -> tuple[bool, str]:
    """Shape of the logits of decoder(input (BATCH,), hidden, cell) for a target vocabulary of TRG_VOCAB."""
    expected = (BATCH, TRG_VOCAB)
    shape = as_shape(answer)
    if shape is None:
        return False, "answer with a shape: a tuple of whole numbers, e.g. tuple(logits.shape)."
    if shape == expected:
        return True, "one score per target token for every sentence in the batch."
    if shape == (TRG_VOCAB, BATCH):
        return False, "one row per sentence: logits are (batch, vocab_size), so the batch of 4 comes first."
    if shape == (1, BATCH, TRG_VOCAB):
        return False, ("that is the shape of the LSTM's output sequence projected as it is; the one-step "
                       "forward squeezes the time dimension away, because it always covers exactly one step.")
    if shape == (BATCH, HIDDEN_DIM):
        return False, (f"that is the LSTM's output for the step, before fc_out projects its {HIDDEN_DIM} "
                       f"numbers onto the {TRG_VOCAB:,} target tokens.")
    if shape == (BATCH, EMB_DIM):
        return False, "that is the embedding of the input token; the logits come after the LSTM and fc_out."
    if shape == (N_LAYERS, BATCH, HIDDEN_DIM):
        return False, "that is the shape of hidden and cell; the logits score every target token."
    if len(shape) == 2 and shape[0] == BATCH:
        return False, f"the second dimension is the size of the target vocabulary, {TRG_VOCAB:,}."
    return False, "the logits hold one score per (sentence, target token) pair."


@exercise("05.softmax")
def softmax_exercise(answer: object) -> tuple[bool, str]:
    """Probability of the most likely of LOGITS' tokens after softmax at TEMPERATURE (within 0.005)."""
    expected = max(softmax(LOGITS, TEMPERATURE))
    if hasattr(answer, "item") and getattr(answer, "numel", lambda: 1)() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, Real):
        return False, "answer with one number between 0 and 1, e.g. round(p, 3)."

    def near(value: float) -> bool:
        return abs(float(answer) - value) < 0.005

    if near(expected):
        return True, (f"dividing by {TEMPERATURE} doubles the gaps between the logits, so the favourite "
                      "gets more of the probability; the argmax is unchanged.")
    if near(max(softmax(LOGITS))):
        return False, f"that is the probability at temperature 1; divide the logits by {TEMPERATURE} first."
    if near(max(softmax(LOGITS, 1 / TEMPERATURE))):
        return False, (f"you multiplied by the temperature; softmax(logits / T) divides, so T = {TEMPERATURE} "
                       "makes the distribution sharper, not flatter.")
    if near(1.0):
        return False, ("1.0 is what argmax would say (a one-hot choice); softmax keeps some probability for "
                       "every token.")
    if near(max(LOGITS)) or near(max(LOGITS) / TEMPERATURE):
        return False, "that is a logit, not a probability; softmax exponentiates and divides by the total."
    if not 0.0 <= float(answer) <= 1.0:
        return False, "a probability lies between 0 and 1; exponentiate the scaled logits and normalise."
    return False, (f"compute exp(x / {TEMPERATURE}) for every logit x, then divide the largest by their sum "
                   "(or use torch.softmax(torch.tensor(LOGITS) / TEMPERATURE, dim=0)).")


@exercise("05.run_inputs")
def run_inputs(answer: object) -> tuple[bool, str]:
    """The tokens the decoder is fed, step by step, under full teacher forcing for the target sentence GOLD."""
    expected = list(GOLD[:-1])
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence) \
            or not all(isinstance(token, str) for token in answer):
        return False, "answer with a list of tokens (strings), e.g. list(GOLD[:3])."
    answer = list(answer)
    if answer == expected:
        return True, ("trg[:-1]: every token but the last is an input, and each input's target is the token "
                      "after it.")
    if answer == list(GOLD):
        return False, ("<eos> is never an input: when it is the target the sentence is over, and nothing after "
                       "it is predicted.")
    if answer == list(GOLD[1:]):
        return False, ("those are the targets, the tokens each step must predict. The inputs start with <sos>, "
                       "one position earlier.")
    if answer == list(GOLD[1:-1]):
        return False, "the first input is <sos>: it is what the decoder reads before it has written anything."
    return False, "the input of step t is the gold token t - 1, starting with <sos>; which token is never an input?"


def log_softmax(logits: Sequence[float]) -> list[float]:
    """log p_i = z_i - log(sum_j e^(z_j)), in plain Python.

    >>> [round(x, 3) for x in log_softmax([0.0, 0.0])]
    [-0.693, -0.693]
    """
    top = max(logits)
    log_total = top + math.log(sum(math.exp(z - top) for z in logits))
    return [z - log_total for z in logits]


def perplexity(step_logits: Sequence[Sequence[float]], gold_ids: Sequence[int]) -> float:
    """exp(mean cross-entropy per token): exp(-(1/T) * sum_t log p(gold_t)).

    >>> round(perplexity([[0.0, 0.0, 0.0]], [1]), 6)  # a uniform guess among 3 tokens
    3.0
    """
    nll = [-log_softmax(row)[gold] for row, gold in zip(step_logits, gold_ids)]
    return math.exp(sum(nll) / len(nll))


@exercise("05.perplexity")
def perplexity_exercise(answer: object) -> tuple[bool, str]:
    """Teacher-forced perplexity of STEP_LOGITS at the gold tokens GOLD_IDS (within 0.5 %)."""
    value = as_number(answer)
    if value is None:
        return False, "answer with one number, e.g. float(perplexity)."
    nll = [-log_softmax(row)[gold] for row, gold in zip(STEP_LOGITS, GOLD_IDS)]
    mean_nll, steps = sum(nll) / len(nll), len(nll)
    expected = math.exp(mean_nll)

    def near(target: float) -> bool:
        return abs(value - target) <= 0.005 * abs(target)

    if near(expected):
        return True, (f"the mean cross-entropy is {mean_nll:.3f} nats per token, and exp of it is "
                      f"{expected:.3f}: as unsure as a fair pick among about {expected:.1f} of the 4 tokens.")
    if near(mean_nll):
        return False, "that is the mean cross-entropy; perplexity is exp of it."
    if near(math.exp(-mean_nll)):
        return False, ("that is exp(mean log-probability), below 1; cross-entropy is minus the log-probability, "
                       "so take exp(-mean of log p).")
    if near(math.exp(sum(nll))):
        return False, f"that is exp of the total; divide the sum of the {steps} cross-entropies by {steps} first."
    if near(2 ** mean_nll) or near(math.exp(mean_nll / math.log(2))):
        return False, ("mixed bases: the cross-entropy in nats (natural log, as F.cross_entropy uses) goes with "
                       "exp; bits (log2) go with 2 **.")
    greedy = [max(range(len(row)), key=row.__getitem__) for row in STEP_LOGITS]
    if near(perplexity(STEP_LOGITS, greedy)):
        return False, ("you scored the most likely token of each step; perplexity scores the gold tokens "
                       "GOLD_IDS, whatever the model prefers.")
    probs = [math.exp(-x) for x in nll]
    if near(len(probs) / sum(probs)) or near(sum(1 / p for p in probs) / len(probs)):
        return False, ("average the cross-entropies (the logs), not the probabilities: "
                       "exp(mean of -log p(gold)).")
    if value < 1:
        return False, "a perplexity is at least 1 (1 means every gold token had probability 1)."
    return False, ("for each step take log_softmax of its logits at the gold id, average the three values, "
                   "flip the sign and exponentiate; F.cross_entropy(torch.tensor(STEP_LOGITS), "
                   "torch.tensor(GOLD_IDS)) gives the mean cross-entropy in one call.")


@exercise("05.uniform_perplexity")
def uniform_perplexity(answer: object) -> tuple[bool, str]:
    """(teacher-forced perplexity of a decoder whose logits are all equal, len(trg_vocab)) (within 0.1 %)."""
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence) or len(answer) != 2:
        return False, "answer with a pair: (perplexity, len(trg_vocab))."
    value, vocab_size = as_number(answer[0]), answer[1]
    if value is None:
        return False, "the first number is the perplexity, e.g. float(perplexity)."
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, Integral) or vocab_size < 2:
        return False, "the second number is the size of the target vocabulary, len(trg_vocab)."

    def near(target: float, tolerance: float = 0.001) -> bool:
        return abs(value - target) <= tolerance * abs(target)

    if near(vocab_size):
        return True, ("equal logits give every token probability 1 / V, so every cross-entropy is log V and the "
                      "perplexity is V itself: the worst a model can do without being wrong on purpose.")
    if near(math.log(vocab_size)):
        return False, "that is the cross-entropy, log V; perplexity is exp of it."
    if near(1 / vocab_size):
        return False, "that is the probability of each token; perplexity is exp(+ mean cross-entropy)."
    if near(vocab_size, 0.05):
        return False, ("close, but not all logits are equal yet: fc_out has a bias as well as a weight. "
                       "Zero both.")
    return False, ("make every logit equal (for example zero fc_out's weight and bias), then compute "
                   "exp(mean cross-entropy) over the non-pad targets as section 6 does.")


# 05.temperature: the experiment of exercise 6, the same LOGITS at a temperature above 1
EXPERIMENT_TEMPERATURE = 2.0


@exercise("05.temperature")
def temperature(answer: object) -> tuple[bool, str]:
    """Probability of the top token of LOGITS after softmax(LOGITS / EXPERIMENT_TEMPERATURE) (within 0.005)."""
    value = as_number(answer)
    if value is None:
        return False, "answer with one number between 0 and 1, e.g. float(probs.max())."
    t = EXPERIMENT_TEMPERATURE
    expected = max(softmax(LOGITS, t))

    def near(target: float) -> bool:
        return abs(value - target) < 0.005

    if near(expected):
        return True, (f"{expected:.3f} instead of {max(softmax(LOGITS)):.3f} at T = 1: dividing by {t:g} halves "
                      "the gaps between the logits, so the distribution is flatter and sampling from it picks "
                      "the other tokens more often. The ranking of the tokens stays the same.")
    if near(max(softmax(LOGITS))):
        return False, f"that is the value at T = 1: set T = {t:g} in the cell and run it again."
    if near(max(softmax(LOGITS, 1 / t))):
        return False, (f"that is T = {1 / t:g}, the sharper distribution of exercise 2: the cell divides the "
                       f"logits by T, so set T = {t:g} (do not multiply by it).")
    if value < 0 and any(near(math.log(max(softmax(LOGITS, x)))) for x in (t, 1.0, 1 / t)):
        return False, "that is a log-probability; answer with the probability itself (exp of it)."
    if near(min(softmax(LOGITS, t))):
        return False, "that is the least likely token; the question asks for the top one, probs.max()."
    if not 0.0 <= value <= 1.0:
        return False, "a probability lies between 0 and 1: softmax(logits / T), then its largest entry."
    return False, f"compute torch.softmax(torch.tensor(LOGITS) / {t:g}, dim=0) and answer with its largest entry."

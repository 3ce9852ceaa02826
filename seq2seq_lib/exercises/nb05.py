"""Exercises of notebook 05: a decoder step's logits, softmax with a temperature, teacher-forced inputs.

>>> from seq2seq_lib.exercises import check
>>> check("05.logits_shape", (5893, 4)).correct
❌ 05.logits_shape: not yet. Hint: one row per sentence: logits are (batch, vocab_size), so the batch of 4 comes first.
False
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

from ..config import EOS, SOS
from . import as_shape, exercise

# 05.logits_shape: one step of the classic decoder on a batch of BATCH sentences
BATCH, TRG_VOCAB, EMB_DIM, HIDDEN_DIM, N_LAYERS = 4, 5_893, 256, 512, 2
# 05.softmax: a decoder's scores for four tokens, and the temperature to apply
LOGITS = (2.0, 1.0, 0.0, -1.0)
TEMPERATURE = 0.5
# 05.run_inputs: one target sentence, as the batch holds it
GOLD = (SOS, "two", "dogs", "play", ".", EOS)


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

"""Exercises of notebook 09: masked attention weights, the context vector, and attention's parameters.

>>> from seq2seq_lib.exercises import check
>>> check("09.params", 208).correct
✅ 09.params: correct. W_s has 8 x 8 weights, W_h 16 x 8 plus 8 biases, v 8: 64 + 136 + 8 = 208.
True
"""
from __future__ import annotations

from numbers import Integral

import torch

from ..models.attention import masked_softmax
from . import exercise

# ---------------------------------------------------------------- 09.mask
# Scores of a batch of 2 source sentences, (S, B) = (5, 2); the second sentence is 3 tokens
# long, so its last 2 rows are padding.
SCORES = torch.tensor([[0.5, 1.0],
                       [2.0, 0.0],
                       [-1.0, 1.0],
                       [0.0, 3.0],
                       [1.0, 2.0]])
MASK = torch.tensor([[True, True],
                     [True, True],
                     [True, True],
                     [True, False],
                     [True, False]])

# ---------------------------------------------------------------- 09.context
WEIGHTS = torch.tensor([0.1, 0.6, 0.3])  # (S,): one sentence's attention weights
ENC_OUTPUTS = torch.tensor([[1.0, 0.0, 2.0, 0.0],
                            [0.0, 1.0, 0.0, 2.0],
                            [4.0, 4.0, -2.0, 0.0]])  # (S, 2H) = (3, 4)

# ---------------------------------------------------------------- 09.params
HIDDEN_DIM, ENC_DIM, ATTN_DIM = 8, 16, 8  # AdditiveAttention(hidden_dim, enc_dim, attn_dim)


def _tensor(answer: object) -> torch.Tensor | None:
    try:
        return torch.as_tensor(answer, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        return None


@exercise("09.mask")
def mask(answer: object) -> tuple[bool, str]:
    """Attention weights (S, B) of SCORES with the padding in MASK getting exactly zero weight."""
    expected = masked_softmax(SCORES, MASK, dim=0)
    weights = _tensor(answer)
    if weights is None or weights.shape != expected.shape:
        shape = None if weights is None else tuple(weights.shape)
        return False, f"answer with a tensor shaped (S, B) = {tuple(expected.shape)}, like SCORES; got {shape}."
    if torch.allclose(weights, expected, atol=1e-5):
        return True, "padding gets weight 0 and every column sums to 1."
    if torch.allclose(weights, torch.softmax(SCORES, dim=0), atol=1e-5):
        return False, ("padding got weight: that is the softmax without the mask. Fill the scores of "
                       "padded positions with -inf first: scores.masked_fill(~MASK, float('-inf')).")
    if torch.allclose(weights, torch.softmax(SCORES.masked_fill(~MASK, 0.0), dim=0), atol=1e-5):
        return False, ("a score of 0 is not 'no weight': exp(0) = 1. Fill padded scores with -inf, "
                       "whose exp is exactly 0.")
    if torch.allclose(weights, torch.softmax(SCORES, dim=0) * MASK, atol=1e-5):
        return False, ("zeroing the padding after the softmax leaves columns that no longer sum to 1; "
                       "mask the scores with -inf before the softmax (or renormalise).")
    if torch.allclose(weights, masked_softmax(SCORES, MASK, dim=1), atol=1e-5):
        return False, ("the softmax ran along the batch (dim=1). Each sentence's weights are spread over its "
                       "source positions: softmax along dim=0, the S axis.")
    return False, "mask the padded scores with -inf, then softmax along dim=0 so that each column sums to 1."


@exercise("09.context")
def context(answer: object) -> tuple[bool, str]:
    """The context vector (2H,) = sum_j WEIGHTS[j] * ENC_OUTPUTS[j]."""
    expected = WEIGHTS @ ENC_OUTPUTS  # (4,)
    vector = _tensor(answer)
    if vector is None or vector.shape != expected.shape:
        shape = None if vector is None else tuple(vector.shape)
        return False, (f"answer with a vector of {expected.numel()} numbers (one per encoder feature), "
                       f"got shape {shape}; the sum over source positions removes the S axis.")
    if torch.allclose(vector, expected, atol=1e-5):
        return True, "a weighted average of the encoder outputs, mostly the second word's (weight 0.6)."
    if torch.allclose(vector, ENC_OUTPUTS.sum(0), atol=1e-5) or torch.allclose(vector, ENC_OUTPUTS.mean(0)):
        return False, "every source position counted equally; weight each row of ENC_OUTPUTS by WEIGHTS first."
    if torch.allclose(vector, ENC_OUTPUTS[-1], atol=1e-5):
        return False, ("that is the last encoder output alone, the classic model's single summary. Attention "
                       "mixes all positions: sum_j WEIGHTS[j] * ENC_OUTPUTS[j].")
    if torch.allclose(vector, ENC_OUTPUTS[int(WEIGHTS.argmax())], atol=1e-5):
        return False, "attention is soft: it mixes every position by its weight rather than picking the largest."
    return False, "multiply each row of ENC_OUTPUTS by its weight and add the rows: WEIGHTS @ ENC_OUTPUTS."


@exercise("09.params")
def params(answer: object) -> tuple[bool, str]:
    """Trainable parameters of AdditiveAttention(HIDDEN_DIM, ENC_DIM, ATTN_DIM)."""
    query, key, v = HIDDEN_DIM * ATTN_DIM, ENC_DIM * ATTN_DIM + ATTN_DIM, ATTN_DIM
    expected = query + key + v
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return False, "answer with one whole number, e.g. from count_parameters(...)."
    if answer == expected:
        return True, (f"W_s has {HIDDEN_DIM} x {ATTN_DIM} weights, W_h {ENC_DIM} x {ATTN_DIM} plus {ATTN_DIM} "
                      f"biases, v {ATTN_DIM}: {query} + {key} + {v} = {expected}.")
    if answer == expected - ATTN_DIM:
        return False, "no biases at all? W [s; h] + b has one bias vector; the library keeps it in key_proj (W_h)."
    if answer in (expected + ATTN_DIM, expected + ATTN_DIM + 1, expected + 1):
        return False, ("only one bias vector: W [s; h] + b is split into W_s s + W_h h + b, so W_s and v "
                       "have none (v's would add the same number to every score and cancel in the softmax).")
    if answer == HIDDEN_DIM * ATTN_DIM * 2 + ATTN_DIM + ATTN_DIM:
        return False, (f"the encoder outputs have {ENC_DIM} features (forward and backward states "
                       f"concatenated), not {HIDDEN_DIM}: W_h is {ENC_DIM} x {ATTN_DIM}.")
    return False, ("three layers: query_proj (hidden_dim -> attn_dim, no bias), key_proj (enc_dim -> attn_dim, "
                   "with bias) and v (attn_dim -> 1, no bias).")

"""Exercises of notebook 09: masked attention weights, the context vector, attention's parameters,
and dot-product attention written as functions.

>>> from seq2seq_lib.exercises import check
>>> check("09.params", 208).correct
✅ 09.params: correct. W_s has 8 x 8 weights, W_h 16 x 8 plus 8 biases, v 8: 64 + 136 + 8 = 208.
True
"""
from __future__ import annotations

import math
from functools import lru_cache
from numbers import Integral

import torch

from ..models.attention import masked_softmax
from . import as_number, as_tensor, call_answer, exercise

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

# ---------------------------------------------------------------- 09.dot_scores, 09.dot_attention
# (S, B, D, Dv): the sizes of the random tensors a learner's function is tried on
DOT_SIZES = [(7, 3, 5, 4), (4, 2, 8, 6)]


def dot_inputs(src_len: int, batch: int, dim: int, value_dim: int, seed: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random query (B, D), keys (S, B, D), values (S, B, Dv) and a mask (S, B) in which sentence b
    has its last b positions padded (sentence 0 none).

    >>> [tuple(t.shape) for t in dot_inputs(7, 3, 5, 4)]
    [(3, 5), (7, 3, 5), (7, 3, 4), (7, 3)]
    """
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, dim, generator=generator)
    keys = torch.randn(src_len, batch, dim, generator=generator)
    values = torch.randn(src_len, batch, value_dim, generator=generator)
    lengths = torch.tensor([max(1, src_len - b) for b in range(batch)])
    mask = torch.arange(src_len).unsqueeze(1) < lengths.unsqueeze(0)  # (S, B)
    return query, keys, values, mask


def reference_dot_scores(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """query (B, D), keys (S, B, D) -> scores (S, B): e_j = s . h_j."""
    return torch.einsum("bd,sbd->sb", query, keys)


def reference_dot_attention(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                            mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """-> context (B, Dv) and weights (S, B): masked softmax of the dot scores over the S positions."""
    weights = masked_softmax(reference_dot_scores(query, keys), mask, dim=0)
    return torch.einsum("sb,sbv->bv", weights, values), weights


@exercise("09.mask")
def mask(answer: object) -> tuple[bool, str]:
    """Attention weights (S, B) of SCORES with the padding in MASK getting exactly zero weight."""
    expected = masked_softmax(SCORES, MASK, dim=0)
    weights = as_tensor(answer)
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
    vector = as_tensor(answer)
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


@exercise("09.dot_scores")
def dot_scores(answer: object) -> tuple[bool, str]:
    """A function (query (B, D), keys (S, B, D)) -> dot-product scores (S, B), tried on random tensors."""
    if not callable(answer):
        return False, ("answer with the function itself: `def dot_scores(query, keys): ...`, then "
                       "`answer = dot_scores` (no parentheses).")
    for sizes in DOT_SIZES:
        query, keys, _, _ = dot_inputs(*sizes)
        expected = reference_dot_scores(query, keys)
        result, error = call_answer(answer, (query, keys))
        if error:
            return False, error
        scores = as_tensor(result)
        if scores is None:
            return False, f"return a tensor of scores shaped (S, B), got {type(result).__name__}."
        if scores.shape == expected.t().shape and scores.shape != expected.shape \
                and torch.allclose(scores, expected.t(), atol=1e-4):
            return False, "the right numbers, transposed: the library's scores are shaped (S, B), positions first."
        if scores.shape != expected.shape:
            return False, (f"for query {tuple(query.shape)} and keys {tuple(keys.shape)} the scores are "
                           f"(S, B) = {tuple(expected.shape)}, got {tuple(scores.shape)}: one score per source "
                           "position and sentence, so sum over the feature axis D only.")
        if torch.allclose(scores, expected, atol=1e-4):
            continue
        if torch.allclose(scores, expected / math.sqrt(sizes[2]), atol=1e-4):
            return False, ("that is the *scaled* dot product of the Transformer, divided by sqrt(D). Here the "
                           "plain dot product s . h_j is asked for (the scaling is discussed in the notebook).")
        if torch.allclose(scores, torch.softmax(expected, dim=0), atol=1e-4):
            return False, "those are already weights: return the scores, before the softmax."
        return False, ("e_j = s . h_j: multiply the query (B, D) with every key (S, B, D) feature by feature "
                       "and sum over D, e.g. (query.unsqueeze(0) * keys).sum(-1) or "
                       "torch.einsum('bd,sbd->sb', query, keys).")
    return True, ("one multiply-and-add per feature, no parameters: the dot product needs the query and the "
                  "keys to have the same size D.")


@exercise("09.dot_attention")
def dot_attention(answer: object) -> tuple[bool, str]:
    """A function (query, keys, values, mask) -> (context (B, Dv), weights (S, B)) with dot-product scores."""
    if not callable(answer):
        return False, ("answer with the function itself: `def dot_attention(query, keys, values, mask): ...`, "
                       "then `answer = dot_attention` (no parentheses).")
    for sizes in DOT_SIZES:
        query, keys, values, mask = dot_inputs(*sizes)
        context, weights = reference_dot_attention(query, keys, values, mask)
        result, error = call_answer(answer, (query, keys, values, mask))
        if error:
            return False, error
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return False, "return two things, `return context, weights`: context (B, Dv) and weights (S, B)."
        got_context, got_weights = as_tensor(result[0]), as_tensor(result[1])
        if got_weights is None or got_weights.shape != weights.shape:
            shape = None if got_weights is None else tuple(got_weights.shape)
            return False, f"the weights should be shaped (S, B) = {tuple(weights.shape)}, got {shape}."
        scores = reference_dot_scores(query, keys)
        if not torch.allclose(got_weights, weights, atol=1e-5):
            if torch.allclose(got_weights, torch.softmax(scores, dim=0), atol=1e-5):
                return False, ("padding got weight: fill the scores where mask is False with -inf before the "
                               "softmax, scores.masked_fill(~mask, float('-inf')).")
            if torch.allclose(got_weights, masked_softmax(scores, mask, dim=1), atol=1e-5):
                return False, "the softmax must run over the source positions, dim=0, so that each column sums to 1."
            if torch.allclose(got_weights, masked_softmax(scores / math.sqrt(sizes[2]), mask, dim=0), atol=1e-5):
                return False, "no scaling by sqrt(D) here: the plain dot product, then the masked softmax."
            return False, "weights = softmax over dim 0 of the dot scores, with -inf at the padded positions."
        if got_context is None or got_context.shape != context.shape:
            shape = None if got_context is None else tuple(got_context.shape)
            hint = " (a weighted sum of the values, not of the keys)" if shape == (sizes[1], sizes[2]) else ""
            return False, f"the context should be shaped (B, Dv) = {tuple(context.shape)}, got {shape}{hint}."
        if not torch.allclose(got_context, context, atol=1e-5):
            if torch.allclose(got_context, values.sum(0), atol=1e-5) or torch.allclose(got_context, values.mean(0)):
                return False, "every position counted equally: weight each value by its a_j before summing over S."
            return False, "context = sum over S of weights[j] * values[j]: torch.einsum('sb,sbv->bv', weights, values)."
    return True, ("scores, mask, softmax, weighted sum: the same three steps as additive attention, with a "
                  "scoring function that has no parameters.")


# ---------------------------------------------------------------- 09.beam_attention
# The experiment of exercise 6: test pair 66 of Multi30k (test_2016_flickr), translated by the shipped
# attention model. Greedily it writes "... the sandy sandy beach ."; beam size 3 drops the repeated word.
# Both translations contain WORD; the question is how sharply WORD attends under beam search.
SENTENCE = "Der braune Hund steht auf dem Sandstrand."
WORD, EXPERIMENT_BEAM = "beach", 3


@lru_cache(maxsize=None)
def attention_rows(beam_size: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[float, ...], ...]]:
    """(output labels, source tokens, attention rows) of the pretrained attention model on SENTENCE (CPU)."""
    from ..translator import Translator

    translation = Translator.from_pretrained("attention").translate(SENTENCE, beam_size=beam_size, details=True)
    rows = tuple(tuple(float(w) for w in row) for row in translation.attention.tolist())
    return tuple(translation.output_labels), tuple(translation.source), rows


def word_attention(beam_size: int, word: str = WORD) -> tuple[str, float]:
    """(the source token that `word` attends to most, that weight) in the translation with `beam_size`.

    >>> word_attention(3)[0]
    'sandstrand'
    """
    labels, source, rows = attention_rows(beam_size)
    row = rows[labels.index(word)]
    best = max(range(len(row)), key=row.__getitem__)
    return source[best], row[best]


@exercise("09.beam_attention")
def beam_attention(answer: object) -> tuple[bool, str]:
    """The largest attention weight of the output word WORD for SENTENCE with beam size 3 (within 0.005)."""
    token, expected = word_attention(EXPERIMENT_BEAM)
    if isinstance(answer, str):
        if answer.strip().lower() == token:
            return False, (f"right, {WORD!r} looks mostly at {token!r}; now answer with that weight, a number "
                           "between 0 and 1, e.g. float(row.max()).")
        return False, "answer with the weight, one number between 0 and 1, e.g. float(row.max())."
    if isinstance(answer, Integral) and not isinstance(answer, bool):
        labels, source, _ = attention_rows(EXPERIMENT_BEAM)
        if answer == source.index(token):
            return False, f"that is the position of {token!r} in the source; answer with its weight, row.max()."
    value = as_number(answer)
    if value is None:
        return False, "answer with one number between 0 and 1, e.g. float(row.max())."

    def near(target: float) -> bool:
        return abs(value - target) < 0.005

    if near(expected):
        greedy = word_attention(1)[1]
        return True, (f"{expected:.3f} on {token!r}, against {greedy:.3f} greedily: the source and the word are "
                      "the same, but the prefix before it is not (greedy wrote 'sandy' twice), and attention "
                      "depends on the decoder's state, so on everything written so far.")
    if near(word_attention(1)[1]):
        return False, f"that is greedy decoding's value: set beam_size={EXPERIMENT_BEAM} and run the cell again."
    labels, source, rows = attention_rows(EXPERIMENT_BEAM)
    for label, row in zip(labels, rows):
        if label != WORD and near(max(row)):
            return False, (f"that is the row of {label!r}; take the row of {WORD!r}: "
                           f"attention[labels.index({WORD!r})].")
    column = [row[source.index(token)] for row in rows]
    if near(sum(column)) or near(sum(column) / len(column)):
        return False, ("that sums over the column of a source token; each output word is a row, and its "
                       "weights over the source sum to 1.")
    if near(1.0):
        return False, "every row sums to 1; answer with its largest entry, row.max()."
    return False, (f"translate with details=True and beam_size={EXPERIMENT_BEAM}, take the row of "
                   f"{WORD!r} in .attention (rows follow .output_labels) and answer with its maximum.")

"""Exercises of notebook 11: scaled dot-product attention, the look-ahead mask, the shapes of
multi-head attention, label smoothing, weight tying, the warm-up schedule, and an experiment with
pre- and post-LayerNorm at initialisation.

>>> from seq2seq_lib.exercises import check
>>> check("11.tying", TYING_VOCAB * TYING_D_MODEL).correct
✅ 11.tying: correct. The output layer's 5,893 x 256 weight matrix is the embedding matrix: 1,508,608 parameters fewer; its 5,893 biases stay.
True
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from numbers import Integral

import torch
import torch.nn.functional as F

from ..config import ModelConfig, TrainConfig
from . import as_number, as_shape, as_tensor, call_answer, exercise

CLOSE = {"rtol": 1e-4, "atol": 1e-5}  # two fp32 computations of the same numbers agree this closely

# ---------------------------------------------------------------- 11.attention
# (B, h, Tq, Tk, d, dv) of the random tensors a learner's function is tried on; the first set has
# a padding mask shaped (B, 1, 1, Tk), the second (Tq = Tk) a look-ahead mask shaped (Tq, Tk).
ATTENTION_SIZES = [(2, 3, 4, 6, 8, 5), (1, 2, 5, 5, 16, 16)]

# ---------------------------------------------------------------- 11.look_ahead
LENGTH = 5  # target positions

# ---------------------------------------------------------------- 11.head_shapes
BATCH, TARGET_LEN, D_MODEL, N_HEADS = 32, 10, 256, 8

# ---------------------------------------------------------------- 11.smoothing
SMOOTH_LOGITS = (2.0, 0.5, 0.0, -1.0, 1.0)  # a decoder's scores over a vocabulary of five tokens
SMOOTH_TARGET = 4  # the gold token's id
EPSILON = 0.1

# ---------------------------------------------------------------- 11.tying
TYING_VOCAB, TYING_D_MODEL = 5_893, 256  # the full profile's English vocabulary and a width of 256

# ---------------------------------------------------------------- 11.warmup
PEAK_LR, WARMUP, STEP = 5e-4, 4_000, 16_000
PAPER_D_MODEL = 512  # Vaswani et al.'s base model, for the hint about their form of the schedule

# ---------------------------------------------------------------- 11.post_norm (experiment)
EXPERIMENT_VOCAB, EXPERIMENT_LAYERS, EXPERIMENT_SEED = 1_000, 6, 0


def attention_inputs(batch: int, heads: int, query_len: int, key_len: int, dim: int, value_dim: int,
                     causal: bool = False, seed: int = 0
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random query (B, h, Tq, d), key (B, h, Tk, d), value (B, h, Tk, dv) and a mask, True where a
    query may look: (Tq, Tk) look-ahead with `causal`, else (B, 1, 1, Tk) with the last b keys of
    sentence b padded.

    >>> [tuple(t.shape) for t in attention_inputs(2, 3, 4, 6, 8, 5)]
    [(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5), (2, 1, 1, 6)]
    """
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, heads, query_len, dim, generator=generator)
    key = torch.randn(batch, heads, key_len, dim, generator=generator)
    value = torch.randn(batch, heads, key_len, value_dim, generator=generator)
    if causal:
        mask = torch.ones(query_len, key_len, dtype=torch.bool).tril()
    else:
        lengths = torch.tensor([max(1, key_len - b) for b in range(batch)])
        mask = (torch.arange(key_len) < lengths[:, None])[:, None, None, :]  # (B, 1, 1, Tk)
    return query, key, value, mask


def _inputs(sizes: tuple[int, ...], index: int) -> tuple[torch.Tensor, ...]:
    return attention_inputs(*sizes, causal=index == 1)


def reference_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        mask: torch.Tensor | None = None, scale: float | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T * scale + mask) V, scale 1/sqrt(d) by default -> (output, weights)."""
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


def _call(function: Callable, args: tuple) -> tuple[object, str | None]:
    return call_answer(function, args, "Use only the shapes of the inputs (query.shape[-1], ...), no fixed "
                                       "sizes, and let the mask broadcast.")


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal within CLOSE; NaN only where the other has NaN too (a mask that hides a whole row gives NaN)."""
    return a.shape == b.shape and torch.allclose(a, b, **CLOSE, equal_nan=True)


def _attention_mistake(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor,
                       weights: torch.Tensor) -> str:
    """The hint for weights that are not the right ones: which usual slip produces them."""
    d = query.shape[-1]
    raw = query @ key.transpose(-2, -1)
    if _close(weights, reference_attention(query, key, value, mask, scale=1.0)[1]):
        return ("those weights come from unscaled scores: divide Q K^T by sqrt(d) = sqrt(query.shape[-1]) "
                "before the softmax.")
    if _close(weights, reference_attention(query, key, value, mask, scale=1 / d)[1]):
        return "that divides by d; the scale is 1 / sqrt(d), which keeps the scores' spread near 1."
    if _close(weights, torch.softmax(raw / math.sqrt(d), dim=-1)):
        return ("the masked positions got weight: fill their scores with -inf before the softmax, "
                "scores.masked_fill(~mask, float('-inf')).")
    if _close(weights, torch.softmax((raw / math.sqrt(d)).masked_fill(mask, float("-inf")), dim=-1)):
        return ("the mask is True where a query MAY look: fill the scores where it is False, "
                "masked_fill(~mask, ...), not where it is True.")
    if _close(weights, torch.softmax((raw / math.sqrt(d)).masked_fill(~mask, 0.0), dim=-1)):
        return "a score of 0 still gets weight, exp(0) = 1: fill the masked scores with -inf."
    if _close(weights, torch.softmax(raw / math.sqrt(d), dim=-1) * mask):
        return ("zeroing the weights after the softmax leaves rows that no longer sum to 1; mask the scores "
                "with -inf before it.")
    masked = (raw / math.sqrt(d)).masked_fill(~mask, float("-inf"))
    if _close(weights, torch.softmax(masked, dim=-2)):
        return ("the softmax ran over the queries (dim=-2): each query's weights over the keys must sum to 1, "
                "so softmax over the last dimension, dim=-1.")
    return "scores = Q K^T / sqrt(d), -inf where the mask is False, softmax over the keys (dim=-1), then @ V."


@exercise("11.attention")
def attention(answer: object) -> tuple[bool, str]:
    """A function (query, key, value, mask) -> (output, weights): masked scaled dot-product attention."""
    if not callable(answer):
        return False, ("answer with the function itself: `def attention(query, key, value, mask): ...`, then "
                       "`answer = attention` (no parentheses).")
    for index, sizes in enumerate(ATTENTION_SIZES):
        query, key, value, mask = _inputs(sizes, index)
        output, weights = reference_attention(query, key, value, mask)
        result, error = _call(answer, (query, key, value, mask))
        if error:
            return False, error
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return False, "return two things, `return output, weights`: output (..., Tq, dv), weights (..., Tq, Tk)."
        got_output, got_weights = as_tensor(result[0]), as_tensor(result[1])
        if got_weights is None or got_weights.shape != weights.shape:
            shape = None if got_weights is None else tuple(got_weights.shape)
            if shape == tuple(weights.transpose(-2, -1).shape):
                return False, ("the weights are transposed: one row per query, (..., Tq, Tk), from "
                               "query @ key.transpose(-2, -1).")
            return False, f"the weights should be shaped (B, h, Tq, Tk) = {tuple(weights.shape)}, got {shape}."
        if not _close(got_weights, weights):
            return False, _attention_mistake(query, key, value, mask, got_weights)
        if got_output is None or got_output.shape != output.shape:
            shape = None if got_output is None else tuple(got_output.shape)
            keys = " (a weighted sum of the values, not of the keys)" if shape == (*output.shape[:-1], sizes[4]) else ""
            return False, (f"the output should be shaped (B, h, Tq, dv) = {tuple(output.shape)}, got {shape}{keys}: "
                           "weights @ value.")
        if not _close(got_output, output):
            return False, "the weights are right; the output is their weighted sum of the values, weights @ value."
    return True, ("one matrix product gives every query's scores at once, the mask and the softmax make them "
                  "weights, a second product reads the values.")


@exercise("11.look_ahead")
def look_ahead(answer: object) -> tuple[bool, str]:
    """The (LENGTH, LENGTH) look-ahead mask, True where target position t may look (positions 0..t)."""
    expected = torch.ones(LENGTH, LENGTH, dtype=torch.bool).tril()
    mask = as_tensor(answer)
    if mask is None or mask.shape != expected.shape:
        shape = None if mask is None else tuple(mask.shape)
        return False, f"answer with a {LENGTH} x {LENGTH} tensor, one row per query position; got shape {shape}."
    if not ((mask == 0) | (mask == 1)).all():
        return False, "answer with True/False (or 1/0): True where a position may look, False where it may not."
    mask = mask.bool()
    if torch.equal(mask, expected):
        return True, "row t is True up to column t: each position sees itself and the positions before it."
    if torch.equal(mask, expected.t()):
        return False, ("that lets every position see the future and not the past (torch.triu): row t must be "
                       "True for columns 0..t, the lower triangle, torch.ones(T, T).tril().")
    if torch.equal(mask, ~expected):
        return False, ("that is True where a position must NOT look; the library's convention is True where it "
                       "may: invert it.")
    if torch.equal(mask, expected.tril(-1)):
        return False, ("the diagonal is missing: position t reads its own input token too (it has to: it is "
                       "the word just written). Use tril(), not tril(-1).")
    if torch.equal(mask, torch.ones_like(expected)):
        return False, "that masks nothing: position t must not see the positions after it."
    return False, "row t, the query at position t, may look at columns 0..t: torch.ones(T, T, dtype=torch.bool).tril()."


@exercise("11.head_shapes")
def head_shapes(answer: object) -> tuple[bool, str]:
    """(shape of the queries after split_heads, shape of the self-attention weights) for a (BATCH, TARGET_LEN, D_MODEL)
    input and N_HEADS heads."""
    d_head = D_MODEL // N_HEADS
    expected = ((BATCH, N_HEADS, TARGET_LEN, d_head), (BATCH, N_HEADS, TARGET_LEN, TARGET_LEN))
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "answer with two shapes: (queries after split_heads, attention weights), e.g. ((...), (...))."
    shapes = (as_shape(answer[0]), as_shape(answer[1]))
    if None in shapes:
        return False, "each shape is a tuple of whole numbers, e.g. (32, 8, 10, 32)."
    queries, weights = shapes
    if (queries, weights) == expected:
        return True, (f"{N_HEADS} heads of {d_head} features each: the heads sit next to the batch, so one "
                      "batched matrix product runs them all; every head has its own (T, T) weights.")
    hints = []
    if queries == (BATCH, TARGET_LEN, N_HEADS, d_head):
        hints.append("the view (B, T, h, d/h) is only half of split_heads: .transpose(1, 2) puts the heads before "
                     "the positions, so that the last two dimensions are (T, d/h) for the matrix product")
    elif queries == (BATCH, N_HEADS, TARGET_LEN, D_MODEL):
        hints.append(f"each head works in d_model / h = {d_head} features, not all {D_MODEL}")
    elif queries != expected[0]:
        hints.append(f"the queries are (B, h, T, d_model / h) with d_model / h = {D_MODEL} // {N_HEADS}")
    if weights == (BATCH, TARGET_LEN, TARGET_LEN):
        hints.append("the weights keep one (T, T) matrix per head: (B, h, T, T); the heads are averaged only "
                     "for display")
    elif weights == (BATCH, N_HEADS, TARGET_LEN, d_head):
        hints.append("that is the output of each head; the weights are one score per (query, key) pair, (T, T)")
    elif weights != expected[1]:
        hints.append("in self-attention the queries and the keys are the same T positions: (B, h, T, T)")
    return False, "; ".join(hints) + "."


def smoothed_loss(logits: torch.Tensor, target: int, epsilon: float, spread_over_others: bool = False) -> float:
    """Label-smoothed cross-entropy of one row: (1 - eps) on the gold token plus eps spread over the
    vocabulary (PyTorch's convention), or over the other tokens only (`spread_over_others`).

    >>> round(smoothed_loss(torch.tensor([0.0, 0.0]), 0, 0.1), 4)  # uniform scores: log 2 whatever eps
    0.6931
    """
    log_probs = torch.log_softmax(logits, dim=-1)
    V = logits.shape[-1]
    if spread_over_others:
        others = torch.cat([log_probs[:target], log_probs[target + 1:]])
        return float(-(1 - epsilon) * log_probs[target] - epsilon / (V - 1) * others.sum())
    return float(-(1 - epsilon) * log_probs[target] - epsilon / V * log_probs.sum())


@exercise("11.smoothing")
def smoothing(answer: object) -> tuple[bool, str]:
    """The label-smoothed cross-entropy of SMOOTH_LOGITS for gold SMOOTH_TARGET with EPSILON (within 1e-3)."""
    logits = torch.tensor(SMOOTH_LOGITS)
    expected = smoothed_loss(logits, SMOOTH_TARGET, EPSILON)
    value = as_number(answer)
    if value is None:
        return False, "answer with one number, e.g. loss.item()."

    def near(target: float) -> bool:
        return abs(value - target) < 1e-3

    if near(expected):
        plain = float(F.cross_entropy(logits[None], torch.tensor([SMOOTH_TARGET])))
        return True, (f"{expected:.4f}, against {plain:.4f} unsmoothed: part of the loss now rewards probability "
                      "on every token, so the model is pushed away from certainty.")
    if near(float(F.cross_entropy(logits[None], torch.tensor([SMOOTH_TARGET])))):
        return False, (f"that is the plain cross-entropy; with label smoothing the target is (1 - {EPSILON}) on the "
                       f"gold token plus {EPSILON} / V on every token: nn.CrossEntropyLoss(label_smoothing={EPSILON}).")
    if near(smoothed_loss(logits, SMOOTH_TARGET, EPSILON, spread_over_others=True)):
        return False, (f"that spreads {EPSILON} over the other V - 1 tokens (the form of some papers); PyTorch, "
                       f"and this series, spread it over all V tokens, the gold one included: {EPSILON} / V each.")
    probs = torch.softmax(logits, dim=-1)
    wrong_logs = -(1 - EPSILON) * logits[SMOOTH_TARGET] - EPSILON / len(SMOOTH_LOGITS) * logits.sum()
    if near(float(wrong_logs)):
        return False, "the loss uses log-probabilities: take log_softmax of the logits first, not the logits."
    if near(float(-(1 - EPSILON) * probs[SMOOTH_TARGET].log() - EPSILON * probs.log().sum())):
        return False, f"the {EPSILON} is shared among the V tokens: each gets {EPSILON} / V, not {EPSILON}."
    return False, (f"target q = (1 - {EPSILON}) one-hot + {EPSILON} / V everywhere; loss = -sum_j q_j log p_j with "
                   "p = softmax(logits).")


@exercise("11.tying")
def tying(answer: object) -> tuple[bool, str]:
    """Parameters saved by tying the decoder's output layer to its embedding, for TYING_VOCAB and TYING_D_MODEL."""
    V, D = TYING_VOCAB, TYING_D_MODEL
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return False, "answer with one whole number of parameters."
    if answer == V * D:
        return True, (f"The output layer's {V:,} x {D} weight matrix is the embedding matrix: {V * D:,} parameters "
                      f"fewer; its {V:,} biases stay.")
    if answer == V * D + V:
        return False, "the output layer's bias is not shared (the embedding has none): count only its weight matrix."
    if answer == 2 * V * D:
        return False, "the two matrices become one, so one of them is saved, not both."
    if answer == D * D:
        return False, f"the shared matrix maps between the {V:,} tokens and the width {D}: V x d_model."
    if answer in (V, D):
        return False, "count a whole matrix, vocabulary size x d_model."
    return False, "the output layer's weight is (V, d_model), the same shape as the embedding: tying saves one of them."


def warmup_rate(step: int, peak: float = PEAK_LR, warmup: int = WARMUP) -> float:
    """peak * min(step / warmup, sqrt(warmup / step)), as `seq2seq_lib.train.warmup_learning_rate`."""
    return peak * min(step / warmup, math.sqrt(warmup / step))


@exercise("11.warmup")
def warmup(answer: object) -> tuple[bool, str]:
    """The learning rate at step STEP of TrainConfig(lr=PEAK_LR, warmup_steps=WARMUP) (within 0.5%)."""
    from ..train import warmup_learning_rate

    expected = warmup_learning_rate(TrainConfig(lr=PEAK_LR, warmup_steps=WARMUP), STEP)
    value = as_number(answer)
    if value is None:
        return False, "answer with one number, the learning rate, e.g. 0.001."

    def near(target: float) -> bool:
        return abs(value - target) <= 0.005 * abs(target)

    if near(expected):
        return True, (f"{expected:.2e}: {STEP:,} steps is {STEP // WARMUP} times the warm-up, so the rate has fallen "
                      f"by sqrt({STEP // WARMUP}) = {math.sqrt(STEP / WARMUP):.0f} from its peak.")
    if near(PEAK_LR * STEP / WARMUP):
        return False, (f"that continues the linear rise past step {WARMUP:,}; after the warm-up the rate decays "
                       "as 1/sqrt(step): lr * sqrt(warmup / step).")
    if near(PEAK_LR):
        return False, f"{PEAK_LR} is the peak, reached at step {WARMUP:,}; by step {STEP:,} the rate has decayed."
    if near(PEAK_LR * WARMUP / STEP):
        return False, "the decay goes with the square root: lr * sqrt(warmup / step), not warmup / step."
    if near(PAPER_D_MODEL ** -0.5 * min(STEP ** -0.5, STEP * WARMUP ** -1.5)):
        return False, (f"that is Vaswani et al.'s formula with d_model = {PAPER_D_MODEL}, whose peak is set by the "
                       "width; the library's lr is the peak itself: lr * min(step / warmup, sqrt(warmup / step)).")
    return False, "lr * min(step / warmup, sqrt(warmup / step)); or ask seq2seq_lib.train.warmup_learning_rate."


def experiment_config(pre_norm: bool) -> ModelConfig:
    """The experiment's Transformer: EXPERIMENT_LAYERS layers of width 64, 8 heads, no dropout."""
    return ModelConfig(transformer=True, emb_dim=64, hidden_dim=256, n_layers=EXPERIMENT_LAYERS, n_heads=8,
                       dropout=0.0, pre_norm=pre_norm)


def experiment_model(pre_norm: bool) -> torch.nn.Module:
    """The experiment's model at initialisation, on the CPU, from seed EXPERIMENT_SEED."""
    from ..models import build_model
    from ..utils import set_seed

    set_seed(EXPERIMENT_SEED)
    return build_model(experiment_config(pre_norm), EXPERIMENT_VOCAB, EXPERIMENT_VOCAB)


def experiment_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch: src (20, 32) and trg (18, 32), starting with <sos>, no padding.

    >>> [tuple(t.shape) for t in experiment_batch()]
    [(20, 32), (18, 32)]
    """
    generator = torch.Generator().manual_seed(1)
    src = torch.randint(4, EXPERIMENT_VOCAB, (20, 32), generator=generator)
    trg = torch.randint(4, EXPERIMENT_VOCAB, (18, 32), generator=generator)
    src[0], trg[0] = 2, 2
    return src, trg


@lru_cache(maxsize=None)
def decoder_gradient_norms(pre_norm: bool) -> tuple[float, ...]:
    """The gradient norm of each decoder layer's parameters, first layer first, for one batch at initialisation.

    >>> norms = decoder_gradient_norms(False)
    >>> len(norms), norms[-1] > norms[0]
    (6, True)
    """
    model = experiment_model(pre_norm)
    src, trg = experiment_batch()
    loss, _ = model.loss(src, trg, 1.0)
    loss.backward()
    return tuple(float(torch.cat([p.grad.flatten() for p in layer.parameters()]).norm())
                 for layer in model.decoder.layers)


@exercise("11.post_norm")
def post_norm(answer: object) -> tuple[bool, str]:
    """Gradient norm of the last decoder layer divided by the first's, post-LayerNorm, at initialisation (within 2%)."""
    post, pre = decoder_gradient_norms(False), decoder_gradient_norms(True)
    expected = post[-1] / post[0]
    value = as_number(answer)
    if value is None:
        return False, "answer with one number, the ratio norms[-1] / norms[0]."

    def near(target: float) -> bool:
        return abs(value - target) <= 0.02 * abs(target)

    if near(expected):
        return True, (f"{expected:.1f}: after LayerNorm each layer's gradient is larger the nearer the layer is to "
                      f"the output, against {pre[-1] / pre[0]:.2f} before (pre-LayerNorm). That uneven start is why "
                      "the post-LayerNorm Transformer needs its warm-up (Xiong et al., 2020).")
    if near(pre[-1] / pre[0]):
        return False, "that is the pre-LayerNorm model's ratio: set pre_norm=False, run the cell again and answer."
    if near(post[0] / post[-1]):
        return False, "the ratio is upside down: the last layer's norm divided by the first's, norms[-1] / norms[0]."
    if near(pre[0] / pre[-1]):
        return False, ("that is the pre-LayerNorm model, and upside down: set pre_norm=False and answer with "
                       "norms[-1] / norms[0].")
    return False, ("with pre_norm=False, answer with norms[-1] / norms[0]: the last decoder layer's norm over "
                   "the first's.")

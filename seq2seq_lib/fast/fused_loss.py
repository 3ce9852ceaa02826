"""Cross-entropy of a linear layer's output, computed chunk by chunk with its gradient fused in.

The textbook loss projects every decoder row, padding included, onto the whole vocabulary and
keeps a (T, B, V) tensor for the backward pass. Here only the non-pad rows are projected, a
chunk at a time, and the gradient of each chunk is found while its softmax is at hand, so no
(N, V) block outlives its chunk: less memory traffic and no second pass over the vocabulary.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils import autocast_state
from . import gemm


def _compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype matmuls run in: autocast's when it is on for x's device, else x's own."""
    enabled, dtype = autocast_state(x.device.type)
    return dtype if enabled else x.dtype


def _chunk_rows(vocab_size: int, device: torch.device) -> int:
    """Rows per chunk so a (rows, V) fp32 block stays small (16 MB on CPU: no page-fault storms)."""
    budget = 2 ** 26 if device.type == "cuda" else 2 ** 22  # elements
    return max(1, budget // vocab_size)


class _LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of x @ W.T + b, chunk by chunk; gradients are found during forward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor, targets: Tensor,
                dtype: torch.dtype, smoothing: float) -> Tensor:
        n, chunk = x.shape[0], _chunk_rows(weight.shape[0], x.device)
        w, b, xs = weight.to(dtype), bias.to(dtype), x.to(dtype)
        grad_x = torch.empty(x.shape, dtype=torch.float32, device=x.device)  # (N, H)
        grad_w_t = torch.zeros(weight.shape[::-1], dtype=torch.float32, device=x.device)  # (H, V)
        grad_b = torch.zeros(bias.shape, dtype=torch.float32, device=x.device)  # (V,)
        total = torch.zeros((), dtype=torch.float32, device=x.device)
        for start in range(0, n, chunk):
            rows, gold = xs[start:start + chunk], targets[start:start + chunk, None]  # (c, H), (c, 1)
            log_probs = torch.log_softmax(gemm.linear(rows, w, b), -1, dtype=torch.float32)  # (c, V)
            total -= (1.0 - smoothing) * log_probs.gather(1, gold).sum()
            if smoothing:  # the target is (1 - s) * onehot + s / V: add s times the mean -log p
                total -= smoothing * log_probs.mean(1).sum()
            probs = log_probs.exp_().scatter_add_(1, gold, gold.new_full(gold.shape, smoothing - 1.0,
                                                                         dtype=torch.float32))
            if smoothing:
                probs -= smoothing / probs.shape[1]
            g = probs.to(dtype)  # softmax - target distribution, unscaled so fp16 cannot underflow
            grad_x[start:start + chunk] = gemm.matmul(g, w)
            grad_w_t += gemm.matmul(rows.t(), g).float()  # (H, V): the fast layout on CPU
            grad_b += probs.sum(0)
        ctx.save_for_backward(grad_x.div_(n), grad_w_t.t().div_(n), grad_b.div_(n))
        return total / n

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        grad_x, grad_w, grad_b = ctx.saved_tensors
        return grad_x * grad_out, grad_w * grad_out, grad_b * grad_out, None, None, None


def _check_shapes(x: Tensor, weight: Tensor, bias: Tensor, targets: Tensor) -> None:
    """x (N, H), weight (V, H), bias (V,) and integer targets (N,); shapes only, so nothing waits for a GPU."""
    if not all(isinstance(t, Tensor) for t in (x, weight, bias, targets)):
        raise TypeError("x, weight, bias and targets must all be tensors (a layer without a bias needs "
                        "torch.zeros(V) as its bias).")
    if x.dim() != 2 or weight.dim() != 2 or weight.shape[1] != x.shape[1] or tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"Expected x (N, H), weight (V, H) and bias (V,), got {tuple(x.shape)}, "
                         f"{tuple(weight.shape)} and {tuple(bias.shape)}.")
    if targets.dim() != 1 or targets.shape[0] != x.shape[0] or targets.is_floating_point():
        raise ValueError(f"targets must be one integer id per row of x, shape ({x.shape[0]},), got "
                         f"{targets.dtype} {tuple(targets.shape)}.")


def linear_cross_entropy(x: Tensor, weight: Tensor, bias: Tensor, targets: Tensor,
                         label_smoothing: float = 0.0) -> Tensor:
    """F.cross_entropy(F.linear(x, weight, bias), targets, label_smoothing=...) for x (N, H), never
    holding (N, V) at once.

    >>> x, w, b, y = torch.randn(5, 3), torch.randn(7, 3), torch.randn(7), torch.tensor([0, 6, 2, 2, 1])
    >>> torch.testing.assert_close(linear_cross_entropy(x, w, b, y), F.cross_entropy(F.linear(x, w, b), y),
    ...                            rtol=1e-5, atol=1e-6)  # two summation orders: fp32 rounding only
    """
    _check_shapes(x, weight, bias, targets)
    if x.shape[0] == 0:
        raise ValueError("No target tokens to score: every row of trg[1:] is padding.")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}.")
    dtype = _compute_dtype(x)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or bias.requires_grad):
        return _LinearCrossEntropy.apply(x, weight, bias, targets, dtype, float(label_smoothing))
    chunk, total = _chunk_rows(weight.shape[0], x.device), x.new_zeros((), dtype=torch.float32)
    for start in range(0, x.shape[0], chunk):
        logits = F.linear(x[start:start + chunk].to(dtype), weight.to(dtype), bias.to(dtype))  # (c, V)
        total += F.cross_entropy(logits.float(), targets[start:start + chunk], reduction="sum",
                                 label_smoothing=label_smoothing)
    return total / x.shape[0]


__all__ = ["linear_cross_entropy"]

"""fp32 matrix products on an x86 CPU through oneDNN rather than PyTorch's default BLAS.

PyTorch's x86 CPU wheels multiply fp32 matrices with MKL. They also bundle oneDNN, which
`nn.LSTM` already uses on a CPU, and whose matrix product is often the faster one: on the
2-core AMD EPYC development machine, for the engine's shapes, 307-435 against 161-210 GFLOP/s,
and 186-238 against 151-181 with oneDNN held to AVX2. The results differ only in fp32 rounding.

`usable(x)` says whether the oneDNN path applies to x (an fp32 CPU tensor, no autocast, oneDNN
enabled and working here); every function below falls back to the ordinary torch operation
when it does not, so callers need no second code path.
"""
from __future__ import annotations

import functools
import platform

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils import autocast_state


@functools.cache
def _onednn_linear_works() -> bool:
    """Whether this torch build's oneDNN linear runs here and agrees with F.linear (checked once)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available():
        return False  # measured only on x86; elsewhere the default kernels stay
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if op is None:
        return False
    x, w, b = torch.linspace(-1, 1, 12).reshape(3, 4), torch.linspace(1, 2, 20).reshape(5, 4), torch.ones(5)
    try:
        got = op(x, w, b, "none", [], "")
    except RuntimeError:
        return False
    return bool(torch.allclose(got, F.linear(x, w, b), rtol=1e-5, atol=1e-6))


def usable(*tensors: Tensor) -> bool:
    """True where `linear`/`matmul` take the oneDNN path for these tensors: fp32 on a CPU, no autocast."""
    return (all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)
            and torch.backends.mkldnn.enabled and not autocast_state("cpu")[0] and _onednn_linear_works())


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x (N, In) @ weight(Out, In).T + bias through oneDNN; strided (transposed) operands need no copy."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a (m, k) @ b (k, n), without autograd; a transposed view of `a` or `b` is read in place.

    >>> a, b = torch.randn(3, 4), torch.randn(4, 5)
    >>> torch.testing.assert_close(matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul multiplies (m, k) by (k, n) matrices, got {tuple(a.shape)} and {tuple(b.shape)}.")
    if usable(a, b):
        return _linear(a, b.t(), None)
    return a.contiguous() @ b  # MKL's fast layout for a transposed left operand


class _Linear(torch.autograd.Function):
    """F.linear with its forward and both weight and input gradients computed by oneDNN."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad_x = _linear(grad, weight.t(), None) if ctx.needs_input_grad[0] else None  # (N, In)
        grad_weight = _linear(grad.t(), x.t(), None) if ctx.needs_input_grad[1] else None  # (Out, In)
        grad_bias = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """F.linear(x, weight, bias) for x (N, In), differentiable, through oneDNN where `usable`.

    >>> x, w, b = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5)
    >>> torch.testing.assert_close(linear(x, w, b), F.linear(x, w, b), rtol=1e-5, atol=1e-5)
    """
    if x.dim() != 2 or weight.dim() != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"linear takes x (N, In) and weight (Out, In), got {tuple(x.shape)} and "
                         f"{tuple(weight.shape)}; flatten the leading dimensions of x first.")
    tensors = (x, weight) if bias is None else (x, weight, bias)
    if not usable(*tensors):
        return F.linear(x, weight, bias)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return _Linear.apply(x, weight, bias)
    return _linear(x, weight, bias)


__all__ = ["usable", "matmul", "linear"]

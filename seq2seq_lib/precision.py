"""Numeric precision: which one runs here (`bf16_support`), which to use (`resolve_precision`), autocast.

bf16 is decided by trying it: oneDNN's bf16 LSTM kernels exist only on CPUs with AVX-512 BF16 or
AMX, and elsewhere (most laptops, many AMD and cloud CPUs, Apple Silicon) the first bf16 LSTM call
fails deep inside torch. A tiny LSTM forward and backward under autocast, run once per process and
device type, says whether it works before any real work starts.
"""
from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from .config import PRECISION_CHOICES
from .utils import DEVICE_FIX, parse_device

CHOICES = PRECISION_CHOICES
PRECISIONS = tuple(choice for choice in CHOICES if choice != "auto")  # what "auto" resolves to
# x86 instruction sets with bf16 arithmetic in hardware (Linux /proc/cpuinfo names); where bf16 runs
# only emulated it is slower than fp32 for this model, so "auto" does not choose it.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


class PrecisionUnavailableError(ValueError):
    """The precision asked for cannot run on this device; `problem` says why, without the fix."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}; use 'fp32' (or 'auto', which picks what runs).")
        self.problem = problem


def _cuda_native_bf16() -> bool:
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.4 counts only native support anyway
        return torch.cuda.is_bf16_supported()


@functools.cache
def _bf16_probe(kind: str) -> str | None:
    """None if a bf16 LSTM forward and backward run on this device type, else torch's reason."""
    if kind == "cuda" and not torch.cuda.is_available():
        return "this machine has no CUDA GPU"
    if kind == "cuda" and not _cuda_native_bf16():
        return "this GPU has no native bf16 (it needs compute capability 8.0, e.g. an A100; a T4 lacks it)"
    try:
        with torch.random.fork_rng(devices=[]):  # the probe must not move the caller's seed
            lstm = nn.LSTM(4, 4).to(kind)
            inputs = torch.randn(2, 1, 4, device=kind, requires_grad=True)
            with torch.autocast(kind, dtype=torch.bfloat16):
                outputs, _ = lstm(inputs)
            outputs.float().sum().backward()
    except RuntimeError as error:
        return str(error).split(". ")[0]
    return None


def _device_kind(device: torch.device | str) -> str:
    """The device's type ("cpu", "cuda", ...), also for a device this machine lacks."""
    return parse_device(device, DEVICE_FIX).type


def bf16_support(device: torch.device | str) -> str | None:
    """None where bf16 autocast runs an LSTM on `device`, else why not (tried once per process).

    >>> bf16_support("mps")
    'bf16 autocast is tried here only on CPU and CUDA devices, not mps'
    """
    kind = _device_kind(device)
    if kind not in ("cpu", "cuda"):
        return f"bf16 autocast is tried here only on CPU and CUDA devices, not {kind}"
    if kind == "cpu":
        reason = _bf16_probe("cpu")
        return None if reason is None else (
            "this CPU has no bf16 LSTM kernels (oneDNN needs AVX-512 BF16 or AMX, which most laptops, "
            f"many AMD and cloud CPUs and Apple Silicon lack); torch said: {reason}")
    return _bf16_probe("cuda")


def _native_bf16_cpu() -> bool:
    """True on an x86 CPU with bf16 instructions that oneDNN is allowed to use."""
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    if limit not in ("ALL", "DEFAULT") and "BF16" not in limit and "AMX" not in limit:
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: no way to tell cheaply, so stay with fp32
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """'auto' -> bf16 on a CPU where it runs natively (1.5-2x faster there, measured), else fp32.

    On CUDA 'auto' gives fp32 with TF32 matrix products (see `tf32_matmuls`): for these small LSTMs
    bf16 and fp16 autocast were measured slower than fp32 on an H200. An explicit precision that
    cannot run here fails with the reason and the fix.

    >>> resolve_precision("fp32", torch.device("cpu"))
    'fp32'
    >>> resolve_precision("auto", "mps")
    'fp32'
    """
    if precision not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {precision!r}.")
    kind = _device_kind(device)
    if precision == "auto":
        return "bf16" if kind == "cpu" and _native_bf16_cpu() and bf16_support("cpu") is None else "fp32"
    if precision == "fp16" and kind != "cuda":
        raise PrecisionUnavailableError(f"precision 'fp16' needs a CUDA GPU, but the device is {kind}")
    if precision == "bf16":
        reason = bf16_support(device)
        if reason is not None:
            raise PrecisionUnavailableError(f"precision 'bf16' cannot run here: {reason}")
    return precision


@contextlib.contextmanager
def tf32_matmuls(device: torch.device | str) -> Iterator[None]:
    """Inside this block fp32 matrix products on an Ampere-or-newer GPU use TF32 (no-op elsewhere).

    TF32 keeps fp32's range with a 10-bit mantissa in the products, several times strict fp32's
    throughput; the setting is restored on exit, so comparisons made later stay strict fp32.
    """
    if _device_kind(device) != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """Autocast context for a resolved precision (fp32: TF32 matrix products on CUDA, else a no-op)."""
    if precision not in PRECISIONS:
        raise ValueError(f"autocast needs a resolved precision {PRECISIONS}, got {precision!r}; "
                         "pass it through resolve_precision first.")
    kind = _device_kind(device)  # a misspelt device fails here, not when the block is entered
    if precision == "fp32":
        return tf32_matmuls(device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(kind, dtype=dtype)


def make_scaler(device: torch.device | str, precision: str) -> torch.amp.GradScaler | None:
    """A GradScaler for fp16 on CUDA (fp16 gradients underflow without one), else None."""
    return torch.amp.GradScaler("cuda") if precision == "fp16" else None


__all__ = ["PRECISIONS", "CHOICES", "PrecisionUnavailableError", "bf16_support", "resolve_precision",
           "tf32_matmuls", "autocast", "make_scaler"]

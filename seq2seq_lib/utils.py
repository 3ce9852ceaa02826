"""Reproducibility and devices: `set_seed`, `get_device` and `autocast_state`."""
from __future__ import annotations

import logging
import random

import numpy as np
import torch

logger = logging.getLogger(__name__)
DEVICE_KINDS = ("cuda", "mps", "cpu")


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every GPU) random number generators.

    >>> set_seed(0); a = torch.rand(2); set_seed(0); torch.equal(a, torch.rand(2))
    True
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def autocast_state(kind: str) -> tuple[bool, torch.dtype]:
    """(is autocast on, its lower-precision dtype) for a device type such as "cpu" or "cuda".

    >>> autocast_state("cpu")[0]
    False
    """
    if hasattr(torch, "get_autocast_dtype"):
        return torch.is_autocast_enabled(kind), torch.get_autocast_dtype(kind)
    # torch < 2.4: per-device functions, no device argument
    if kind == "cpu":
        return torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
    return torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


class DeviceError(ValueError):
    """A device name that is misspelt or not available here; `problem` says which, without the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem


def parse_device(name: str | torch.device, fix: str) -> torch.device:
    """`name` as a torch.device, whether or not this machine has it; a DeviceError for a name torch does not know."""
    try:
        return torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise DeviceError(f"Unknown device {name!r} (use one of {DEVICE_KINDS}, optionally with an index "
                          "such as 'cuda:0')", fix) from error


def available_device(name: str | torch.device, fix: str) -> torch.device:
    """`name` as a torch.device, or a DeviceError (the problem, then `fix`) if it cannot be used here.

    >>> available_device("cpu", fix="use 'cpu'")
    device(type='cpu')
    """
    device = parse_device(name, fix)
    if device.type == "meta":  # shapes without data: always there (tests use it to follow tensors' moves)
        return device
    if device.type not in DEVICE_KINDS:
        raise DeviceError(f"Device type {device.type!r} is not supported (use one of {DEVICE_KINDS})", fix)
    available = {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}[device.type]
    if device.type == "cuda" and available and (device.index or 0) >= torch.cuda.device_count():
        raise DeviceError(f"Device {str(name)!r} was asked for but is not available here (this machine has "
                          f"{torch.cuda.device_count()} CUDA GPU(s))", fix)
    if not available:
        raise DeviceError(f"Device {str(name)!r} was asked for but is not available here (no "
                          f"{'CUDA GPU' if device.type == 'cuda' else 'Apple MPS'} found)", fix)
    return device


DEVICE_FIX = "pass device='cpu' (or utils.get_device() for the best available)."


def usable_device(device: str | torch.device) -> torch.device:
    """`device` as a torch.device that exists on this machine, else a DeviceError that says how to fix it.

    >>> usable_device("cpu")
    device(type='cpu')
    """
    return available_device(device, DEVICE_FIX)


def get_device(prefer: str | None = None, verbose: bool = True) -> torch.device:
    """CUDA if present, else Apple MPS, else CPU; `prefer` ("cpu", "cuda", "cuda:1", "mps") forces one.

    Prints (and logs) one line saying which device was picked and why. A `prefer` that is
    misspelt or not available here raises DeviceError.

    >>> get_device("cpu", verbose=False)
    device(type='cpu')
    """
    if prefer is not None:
        device = available_device(prefer, "pass None to pick automatically or 'cpu' to force the CPU.")
        message = f"Using {_describe(device)} (asked for {prefer!r})."
    elif torch.cuda.is_available():
        device = torch.device("cuda")
        message = f"Using {_describe(device)}."
    elif _mps_available():
        device = torch.device("mps")
        message = "Using Apple MPS (no CUDA GPU found)."
    else:
        device = torch.device("cpu")
        message = ("Using the CPU: no CUDA GPU or Apple MPS found. Training works but is slow; "
                   "on Colab choose Runtime > Change runtime type > GPU.")
    logger.info(message)
    if verbose:
        print(message)
    return device


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA GPU {torch.cuda.get_device_name(device)} ({device})"
    return {"mps": "Apple MPS", "cpu": "the CPU"}[device.type]


__all__ = ["set_seed", "DeviceError", "available_device", "get_device"]

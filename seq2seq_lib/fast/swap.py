"""Modules that run another forward for the length of a `with` block, and their own again after it."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def forwards_swapped(modules: Iterable[nn.Module], forward: Callable[..., object]) -> Iterator[None]:
    """Inside, `module(...)` calls `forward(module, ...)` for each of `modules`; the class's forward is untouched."""
    swapped = list(modules)
    for module in swapped:
        module.forward = functools.partial(forward, module)  # an instance attribute wins over the class's
    try:
        yield
    finally:
        for module in swapped:
            del module.forward


__all__ = ["forwards_swapped"]

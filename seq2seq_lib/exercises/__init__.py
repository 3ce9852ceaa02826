"""Exercise checkers: each notebook's exercises are marked right or wrong with a helpful hint.

An exercise is a function `answer -> Feedback`, registered under a name such as "01.tokens".
Notebooks call `check("01.tokens", my_answer)`; the per-notebook modules hold the checkers.

>>> fb = check("demo.add", 3)
✅ demo.add: correct.
>>> fb.correct
True
>>> check("demo.add", 4).correct
❌ demo.add: not yet. Hint: 1 + 2 is not 4; add the two numbers.
False
"""
from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer and a hint when it is wrong."""

    name: str
    correct: bool
    hint: str = ""

    def __str__(self) -> str:
        if self.correct:
            return f"✅ {self.name}: correct." + (f" {self.hint}" if self.hint else "")
        return f"❌ {self.name}: not yet. Hint: {self.hint}"

    def __bool__(self) -> bool:
        return self.correct


Checker = Callable[[object], tuple[bool, str]]
REGISTRY: dict[str, Checker] = {}


def exercise(name: str) -> Callable[[Checker], Checker]:
    """Register a checker returning (correct, hint) under `name`."""
    def register(checker: Checker) -> Checker:
        if name in REGISTRY and REGISTRY[name] is not checker:
            raise ValueError(f"Exercise {name!r} is registered twice; pick another name.")
        REGISTRY[name] = checker
        return checker
    return register


def as_shape(value: object) -> tuple[int, ...] | None:
    """A learner's answer as a shape tuple, or None when it is not a sequence of integers.

    >>> as_shape([2, 3]), as_shape((4,)), as_shape("23"), as_shape([True, 1])
    ((2, 3), (4,), None, None)
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return None
    if any(isinstance(v, bool) or not isinstance(v, Integral) for v in value):
        return None
    return tuple(int(v) for v in value)


def as_number(value: object) -> float | None:
    """A learner's answer as a finite float (a one-element tensor counts), or None when it is not one number.

    >>> import torch
    >>> as_number(3), as_number(torch.tensor([0.5])), as_number(torch.ones(2)), as_number(True), as_number("1")
    (3.0, 0.5, None, None, None)
    """
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):
        try:
            value = value.item()
        except (ValueError, RuntimeError):  # more than one element
            return None
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        return None
    return float(value)


def as_tensor(value: object):
    """A learner's answer as a float32 tensor, or None when it cannot be one (torch is imported only here)."""
    import torch

    try:
        return torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        return None


def call_answer(function: Callable, args: tuple, advice: str = "Use only the shapes of the inputs, no fixed sizes."
                ) -> tuple[object, str | None]:
    """Run the learner's function on tensors; on an exception return (None, a hint naming the shapes and `advice`)."""
    try:
        return function(*args), None
    except Exception as exc:
        shapes = ", ".join(str(tuple(a.shape)) for a in args)
        return None, f"calling it on tensors shaped {shapes} raised {type(exc).__name__}: {exc}. {advice}"


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def available() -> list[str]:
    """Names of every registered exercise."""
    _load_all()
    return sorted(REGISTRY)


def check(name: str, answer: object, quiet: bool = False) -> Feedback:
    """Mark `answer` to exercise `name`, print the verdict (unless quiet) and return it."""
    _load_all()
    if name not in REGISTRY:
        raise KeyError(f"No exercise called {name!r}; available: {', '.join(available())}.")
    if answer is ...:
        feedback = Feedback(name, False, "replace the `...` with your answer, then run the cell again.")
    else:
        try:
            correct, hint = REGISTRY[name](answer)
        except Exception as exc:  # a learner's malformed answer is feedback, not a crash
            correct, hint = False, f"your answer could not be checked ({type(exc).__name__}: {exc})."
        feedback = Feedback(name, bool(correct), hint)
    if not quiet:
        print(feedback)
    return feedback


@exercise("demo.add")
def _demo_add(answer: object) -> tuple[bool, str]:
    return answer == 3, "" if answer == 3 else f"1 + 2 is not {answer!r}; add the two numbers."

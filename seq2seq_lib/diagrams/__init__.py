"""Figures of the ideas themselves, drawn with matplotlib: architectures, procedures, data flow.

`plots` draws measured data (lengths, curves, attention weights); the modules here draw the
pictures a textbook would, each where its notebook introduces the concept, from the library's
own objects wherever there is one to draw from (e.g. a real beam search).
"""
from numbers import Integral


def check_size(name: str, value: object) -> int:
    """`value` as an int if it is a whole number >= 1, else a message naming `name`.

    >>> check_size("batch", 3)
    3
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    return int(value)


__all__ = ["check_size"]

"""Exercises of notebook 03: the (seq_len, batch) layout, row 0, and padding saved by sorting.

>>> from seq2seq_lib.exercises import check
>>> feedback = check("03.shape", (3, 9), quiet=True)
>>> feedback.correct, "time first" in feedback.hint
(False, True)
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

from ..config import SOS, SPECIALS
from . import exercise

TOKEN_COUNTS = (5, 7, 4)  # tokens per sentence after preprocess, before <sos>/<eos>
LENGTHS = (3, 9, 4, 8, 2, 9)  # lengths with <sos>/<eos>, in the order the sentences come
PAIR = 2  # batch size of the padding exercise


def count_pads(lengths: Sequence[int], batch_size: int) -> int:
    """<pad> entries when `lengths` are cut, in order, into batches padded to their longest.

    >>> count_pads([3, 9, 4, 8], 2)
    10
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if not lengths or any(isinstance(n, bool) or not isinstance(n, Integral) or n < 1 for n in lengths):
        raise ValueError(f"lengths must be a non-empty list of positive integers, got {lengths!r}.")
    lengths = [int(n) for n in lengths]
    batches = [lengths[i:i + batch_size] for i in range(0, len(lengths), batch_size)]
    return sum(max(batch) * len(batch) - sum(batch) for batch in batches)


def _as_pair(answer: object) -> tuple[int, int] | None:
    if hasattr(answer, "tolist") and not isinstance(answer, (tuple, list)):
        answer = answer.tolist()
    if not isinstance(answer, Sequence) or isinstance(answer, str) or len(answer) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, Integral) for v in answer):
        return None
    return int(answer[0]), int(answer[1])


@exercise("03.shape")
def shape(answer: object) -> tuple[bool, str]:
    """Shape of the padded id tensor of three sentences with TOKEN_COUNTS tokens."""
    longest, batch = max(TOKEN_COUNTS) + 2, len(TOKEN_COUNTS)
    pair = _as_pair(answer)
    if pair is None:
        return False, "answer with a pair (seq_len, batch), e.g. tuple(tensor.shape)."
    if pair == (longest, batch):
        return True, "the longest sentence plus <sos> and <eos> sets seq_len; the others are padded."
    if pair == (batch, longest):
        return False, "the layout is time first: (seq_len, batch), so the batch size of 3 comes second."
    if pair == (longest - 2, batch):
        return False, "every sentence also gets <sos> and <eos>, so add 2 to the longest one."
    if pair == (longest - 1, batch):
        return False, "both markers count: <sos> in front and <eos> at the end, 2 extra rows."
    if pair[1] == batch:
        return False, "seq_len is set by the longest sentence (with its markers); shorter ones are padded up to it."
    return False, "one column per sentence, one row per time step; the longest sentence sets the number of rows."


@exercise("03.first_row")
def first_row(answer: object) -> tuple[bool, str]:
    """The id found in every entry of batch.trg[0]."""
    expected = SPECIALS.index(SOS)
    if hasattr(answer, "tolist"):
        answer = answer.tolist()
    if isinstance(answer, list) and answer and len(set(answer)) == 1:
        answer = answer[0]
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return False, "answer with one whole number: the id that fills row 0."
    if answer == expected:
        return True, "every sentence starts with <sos>, so row 0 is all <sos>: the decoder's first input."
    names = {SPECIALS.index(token): token for token in SPECIALS}
    if answer in names:
        return False, (f"{answer} is {names[answer]}. Which marker does numericalize put in front of "
                       "every sentence?")
    return False, "row 0 holds the first token of every sentence; print(batch.trg[0]) and look it up in itos."


@exercise("03.bucket_pads")
def bucket_pads(answer: object) -> tuple[bool, str]:
    """(pads in the given order, pads after sorting by length) for LENGTHS in batches of PAIR."""
    expected = (count_pads(LENGTHS, PAIR), count_pads(sorted(LENGTHS), PAIR))
    pair = _as_pair(answer)
    if pair is None:
        return False, "answer with two whole numbers: (pads in the given order, pads after sorting)."
    if pair == expected:
        return True, "sorting first puts similar lengths together; that is all a bucket iterator does."
    if pair == expected[::-1]:
        return False, "the two numbers are swapped: the given order comes first, then the sorted one."
    hints = []
    if pair[0] != expected[0]:
        hints.append("in the given order the batches are (3, 9), (4, 8), (2, 9); each is padded "
                     "to its own longest")
    if pair[1] != expected[1]:
        hints.append("sorted, the batches are (2, 3), (4, 8), (9, 9)")
    return False, "; ".join(hints) + ". Pads per batch = longest x batch size - sum of lengths."

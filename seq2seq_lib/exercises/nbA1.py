"""Exercises of appendix A1: the decoder calls block teacher forcing makes, the rows the fused loss projects,
and an experiment with the teacher-forcing ratio.

>>> from seq2seq_lib.exercises import check
>>> check("A1.decoder_calls", len(COINS)).correct
❌ A1.decoder_calls: not yet. Hint: 11 is one call per step: what the textbook loop makes. The engine makes one call per stretch of gold inputs; count the stretches.
False
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import Tensor

from . import as_shape, exercise

PAD, SOS, EOS = 1, 2, 3

# A1.decoder_calls: the coins of one training batch whose targets are 12 tokens long (11 decoder
# steps). coins[i] True: the input of step i + 2 is the gold token (the convention of
# seq2seq_lib.models.seq2seq.teacher_forcing_coins); the last coin decides an input no step reads.
COINS = (True, True, False, True, True, True, False, False, True, True, True)

# A1.projected_rows: lengths of four target sentences with <sos> and <eos>, padded into one batch
TRG_LENGTHS = (9, 5, 12, 7)

# A1.ratio_experiment: the coins come from a generator seeded with EXPERIMENT_SEED, at ratio EXPERIMENT_RATIO
EXPERIMENT_SEED, EXPERIMENT_RATIO, START_RATIO = 5, 0.9, 0.5


def decoder_blocks(coins: Sequence[bool]) -> list[tuple[int, int]]:
    """The stretches of decoder steps (first, last), counted from 1, that the engine runs in one call each.

    Step 1 reads <sos>; step t + 1 joins step t's block when coins[t - 1] is True (its input is the
    gold trg[t]); a False coin starts a new block, whose first input is the model's own guess.

    >>> decoder_blocks([True, False, True, True])
    [(1, 2), (3, 4)]
    >>> decoder_blocks([False, False, False])
    [(1, 1), (2, 2), (3, 3)]
    """
    n_steps, blocks, start = len(coins), [], 1
    for step in range(2, n_steps + 1):
        if not coins[step - 2]:
            blocks.append((start, step - 1))
            start = step
    if n_steps:
        blocks.append((start, n_steps))
    return blocks


def padded_targets(lengths: Sequence[int] = TRG_LENGTHS) -> Tensor:
    """trg (T, B): one column per length, <sos> ... <eos> with word ids in between, padded with <pad>.

    >>> padded_targets((4, 2)).t().tolist()
    [[2, 4, 5, 3], [2, 3, 1, 1]]
    """
    trg = torch.full((max(lengths), len(lengths)), PAD, dtype=torch.long)
    for column, length in enumerate(lengths):
        trg[1:length - 1, column] = torch.arange(4, length + 2)  # word ids from 4 on
        trg[0, column], trg[length - 1, column] = SOS, EOS
    return trg


def projected_rows(trg: Tensor, pad_idx: int = PAD) -> tuple[int, int]:
    """(rows the textbook projects onto the vocabulary, rows the fused loss projects) for trg (T, B).

    >>> projected_rows(padded_targets((4, 2)))
    (6, 4)
    """
    return (trg.shape[0] - 1) * trg.shape[1], int((trg[1:] != pad_idx).sum())


def _whole_number(answer: object) -> bool:
    return isinstance(answer, Integral) and not isinstance(answer, bool)


@exercise("A1.decoder_calls")
def decoder_calls(answer: object) -> tuple[bool, str]:
    """How many times block teacher forcing runs the decoder for the steps that COINS decide."""
    if isinstance(answer, Tensor) and answer.numel() == 1 and not answer.is_floating_point():
        answer = int(answer.item())
    if not _whole_number(answer):
        return False, "answer with one whole number: how many times the engine runs the decoder."
    n_steps, falses = len(COINS), COINS.count(False)
    expected = len(decoder_blocks(COINS))
    if answer == expected:
        return True, (f"{n_steps} steps in {expected} blocks: one block to start with, and one more after each "
                      "coin that feeds back the model's guess.")
    if answer == n_steps:
        return False, (f"{n_steps} is one call per step: what the textbook loop makes. The engine makes one call "
                       "per stretch of gold inputs; count the stretches.")
    if answer == falses:
        return False, "each False coin starts a new block, and there is one block before the first of them."
    if answer == COINS.count(True):
        return False, ("the True coins are the steps that join the block before them; count the blocks, "
                       "which start at step 1 and after each False coin.")
    return False, ("walk along the coins: step 1 starts a block; coins[t - 1] True keeps step t + 1 in the same "
                   "block, False starts a new one. `fast.teacher_forced_features` does exactly this.")


@exercise("A1.projected_rows")
def projected_rows_exercise(answer: object) -> tuple[bool, str]:
    """(rows the textbook projects, rows the fused loss projects) for targets of TRG_LENGTHS in one batch."""
    pair = as_shape(answer)
    if pair is None or len(pair) != 2:
        return False, ("answer with two whole numbers: (rows the textbook projects onto the vocabulary, "
                       "rows the engine projects).")
    lengths, batch, longest = TRG_LENGTHS, len(TRG_LENGTHS), max(TRG_LENGTHS)
    textbook, engine = projected_rows(padded_targets(lengths))
    if pair == (textbook, engine):
        return True, (f"the textbook projects all {textbook} rows of outputs[1:], padding included; the fused "
                      f"loss only the {engine} real target tokens, {textbook - engine} rows of work saved.")
    hints = []
    if pair == (engine, textbook):
        return False, "the two numbers are swapped: the textbook's count comes first, and it is the larger."
    if pair[0] == longest * batch:
        hints.append("row 0 of outputs is never computed (nothing predicts <sos>), so the textbook projects "
                     "T - 1 rows per sentence")
    elif pair[0] == engine:
        hints.append("the textbook does not skip padding: every one of its T - 1 steps projects every "
                     "sentence of the batch, finished or not")
    elif pair[0] != textbook:
        hints.append("the textbook projects (T - 1) x B rows, T the longest target and B the batch size")
    if pair[1] == sum(lengths):
        hints.append("<sos> is an input, never a target: each sentence has length - 1 target tokens")
    elif pair[1] == sum(length - 2 for length in lengths):
        hints.append("<eos> is a target the model must learn to predict, so its row is projected too")
    elif pair[1] == textbook:
        hints.append("the engine projects only the rows where trg[1:] is not <pad>")
    elif pair[1] != engine:
        hints.append("the engine projects one row per target token: (trg[1:] != pad).sum()")
    return False, "; ".join(hints) + "."


def experiment_calls(n_steps: int, ratio: float, seed: int = EXPERIMENT_SEED) -> int:
    """The engine's decoder calls for `n_steps` steps whose coins come from a generator seeded with `seed`.

    >>> experiment_calls(10, 1.0), experiment_calls(10, 0.0)
    (1, 10)
    """
    from ..models.seq2seq import teacher_forcing_coins

    return len(decoder_blocks(teacher_forcing_coins(n_steps, ratio, torch.Generator().manual_seed(seed))))


@exercise("A1.ratio_experiment")
def ratio_experiment(answer: object) -> tuple[bool, str]:
    """(decoder steps, decoder calls the engine made) for the section's batch at ratio EXPERIMENT_RATIO."""
    pair = as_shape(answer)
    if pair is None or len(pair) != 2 or pair[0] < 1:
        return False, ("answer with two whole numbers: (T - 1, len(calls)), the steps of the batch and the "
                       "decoder calls the engine made for them.")
    n_steps, calls = pair
    expected = experiment_calls(n_steps, EXPERIMENT_RATIO)
    if calls == expected:
        return True, (f"{n_steps} steps in {calls} calls at ratio {EXPERIMENT_RATIO}, against "
                      f"{experiment_calls(n_steps, START_RATIO)} at {START_RATIO}: the more gold inputs, the "
                      "longer the blocks and the fewer the calls; at ratio 1 a single call takes them all.")
    if calls == experiment_calls(n_steps, START_RATIO):
        return False, f"that is the count at ratio {START_RATIO}; set ratio = {EXPERIMENT_RATIO} and run the cell again."
    if calls == n_steps:
        return False, ("one call per step is the textbook loop (or ratio 0); the engine at ratio "
                       f"{EXPERIMENT_RATIO} runs every stretch of gold inputs in one call.")
    if calls > n_steps or calls < 1:
        return False, f"the engine makes between 1 and {n_steps} calls for {n_steps} steps; count len(calls)."
    return False, (f"draw the coins with seed {EXPERIMENT_SEED} right before them, as the cell does, and count the "
                   "calls recorded while `fast.teacher_forced_features` runs.")


__all__ = ["COINS", "TRG_LENGTHS", "EXPERIMENT_SEED", "EXPERIMENT_RATIO", "decoder_blocks", "padded_targets",
           "projected_rows", "experiment_calls"]

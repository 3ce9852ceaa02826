"""Exercises of notebook 06: the `[1:]` slices of the loss, what teacher forcing feeds, tokens scored, an experiment.

>>> from seq2seq_lib.exercises import check
>>> check("06.n_tokens", sum(TRG_LENGTHS)).correct
❌ 06.n_tokens: not yet. Hint: <sos> is never predicted: row 0 of outputs is empty and the loss starts at trg[1:]. Count one token less per sentence.
False
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral

import torch
from torch import Tensor

from . import as_number, exercise

# 06.fed_inputs: a five-token target, the model's argmax at steps 1..4, and the coins of steps 2..4
EXAMPLE_TRG = ("<sos>", "two", "dogs", "play", "<eos>")
PREDICTIONS = ("a", "dog", "runs", ".")  # what outputs[t].argmax() says at t = 1, 2, 3, 4
COINS = (False, True, False)  # gold input at step t = 2, 3, 4? (True: teacher forcing)

# 06.n_tokens: lengths of four target sentences with <sos> and <eos>, padded into one batch
TRG_LENGTHS = (6, 9, 4, 9)


def fed_inputs(trg: Sequence[str], predictions: Sequence[str], coins: Sequence[bool]) -> list[str]:
    """The token fed at each step t = 1..T-1: <sos>, then trg[t-1] where the coin says gold, else the guess.

    >>> fed_inputs(EXAMPLE_TRG, PREDICTIONS, (True, True, True))
    ['<sos>', 'two', 'dogs', 'play']
    """
    return [trg[0]] + [trg[t - 1] if coin else predictions[t - 2] for t, coin in enumerate(coins, start=2)]


def loss_inputs(outputs: Tensor, trg: Tensor) -> tuple[Tensor, Tensor]:
    """What CrossEntropyLoss takes: logits (N, V) from outputs[1:] and targets (N,) from trg[1:]."""
    return outputs[1:].reshape(-1, outputs.shape[-1]), trg[1:].reshape(-1)


def _probe(seed: int = 0) -> tuple[Tensor, Tensor]:
    """outputs (5, 3, 7) with an empty row 0, as forward returns them, and trg (5, 3)."""
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.randn(5, 3, 7, generator=generator)
    outputs[0] = 0
    return outputs, torch.randint(0, 7, (5, 3), generator=generator)


def _same(a: object, b: Tensor) -> bool:
    return isinstance(a, Tensor) and a.shape == b.shape and torch.equal(a, b)


@exercise("06.loss_slices")
def loss_slices(answer: object) -> tuple[bool, str]:
    """A function (outputs (T, B, V), trg (T, B)) -> (logits (N, V), targets (N,)) for CrossEntropyLoss."""
    if not isinstance(answer, Callable):
        return False, ("answer with a function, e.g. `def answer(outputs, trg): return logits, targets`, "
                       "that returns the two tensors to pass to CrossEntropyLoss.")
    outputs, trg = _probe()
    result = answer(outputs.clone(), trg.clone())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return False, "return two tensors: (logits, targets), in that order."
    logits, targets = result
    if not isinstance(logits, Tensor) or not isinstance(targets, Tensor):
        return False, "return two tensors: (logits, targets), in that order."
    right_logits, right_targets = loss_inputs(outputs, trg)
    if _same(logits, right_logits) and _same(targets, right_targets):
        return True, "outputs[t] is scored against trg[t] for t = 1..T-1; row 0 (nothing predicts <sos>) is dropped."
    if logits.dim() != 2 or targets.dim() != 1:
        return False, ("CrossEntropyLoss wants logits shaped (N, V) and targets shaped (N,): flatten with "
                       "outputs[1:].reshape(-1, outputs.shape[-1]) and trg[1:].reshape(-1).")
    V = outputs.shape[-1]
    if _same(logits, outputs.reshape(-1, V)) or _same(targets, trg.reshape(-1)):
        return False, ("row 0 of outputs is all zeros: no step predicts <sos>. Drop it, and drop trg[0] "
                       "to match: outputs[1:] with trg[1:].")
    if _same(logits, outputs[:-1].reshape(-1, V)):
        return False, ("outputs[:-1] keeps the empty row 0 and throws away the prediction of the last "
                       "token. outputs[t] predicts trg[t], so both are sliced the same way: [1:].")
    if _same(logits, right_logits) and _same(targets, trg[:-1].reshape(-1)):
        return False, ("trg[:-1] pairs each prediction with the token the decoder was fed, not the one it "
                       "should predict. outputs[t] is scored against trg[t]: use trg[1:].")
    if _same(logits, right_logits) and _same(targets, trg[1:].t().reshape(-1)):
        return False, "flatten trg[1:] the same way as outputs[1:] (time first), without transposing."
    if _same(targets, right_targets):
        return False, "the targets are right; the logits should be outputs[1:] flattened to (N, V)."
    return False, "use outputs[1:] and trg[1:], flattened to (N, V) and (N,)."


@exercise("06.fed_inputs")
def fed_inputs_exercise(answer: object) -> tuple[bool, str]:
    """The four tokens the decoder is fed at steps 1..4 given EXAMPLE_TRG, PREDICTIONS and COINS."""
    expected = fed_inputs(EXAMPLE_TRG, PREDICTIONS, COINS)
    if isinstance(answer, str) or not isinstance(answer, Sequence) or not all(isinstance(t, str) for t in answer):
        return False, "answer with a list of four tokens (strings), one per step, e.g. ['<sos>', ...]."
    answer = list(answer)
    if answer == expected:
        return True, ("step 2 got the model's guess 'a', step 3 the gold 'dogs' (its coin came up gold), "
                      "step 4 the model's guess 'runs'.")
    if len(answer) != 4:
        return False, ("there are T-1 = 4 steps, so 4 inputs: <sos> is fed at step 1 and <eos> is never fed "
                       "(it is only predicted).")
    if answer[0] != "<sos>":
        return False, "step 1 is always fed <sos>: no coin is flipped for it."
    if answer == list(EXAMPLE_TRG[:-1]):
        return False, ("that is what the decoder gets with teacher_forcing_ratio = 1, every input gold. Here the "
                       "coins of steps 2 and 4 came up False: those steps get the model's own guess.")
    if answer == fed_inputs(EXAMPLE_TRG, PREDICTIONS, (False, False, False)):
        return False, ("that is free running (ratio 0): every input a guess. The coin of step 3 came up True, "
                       "so step 3 gets the gold token.")
    if answer == fed_inputs(EXAMPLE_TRG, PREDICTIONS, tuple(not c for c in COINS)):
        return False, "True means gold (teacher forcing), False means the model's own guess; you swapped them."
    if answer[2] == EXAMPLE_TRG[3]:
        return False, ("a gold input at step t is trg[t-1], the token before the one to predict; feeding "
                       "trg[t] would hand the decoder the answer.")
    if answer[1] == PREDICTIONS[1] or answer[3] == PREDICTIONS[3]:
        return False, ("the guess fed at step t is the prediction of step t-1 (the step before), "
                       "not of step t itself, which has not happened yet.")
    return False, "step 1: <sos>; step t > 1: trg[t-1] if its coin is True, else the prediction of step t-1."


@exercise("06.n_tokens")
def n_tokens(answer: object) -> tuple[bool, str]:
    """How many target tokens the loss of a batch with TRG_LENGTHS averages over."""
    expected = sum(n - 1 for n in TRG_LENGTHS)
    T, B = max(TRG_LENGTHS), len(TRG_LENGTHS)
    if isinstance(answer, Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return False, "answer with one whole number of tokens."
    if answer == expected:
        return True, "each sentence is scored on all its tokens after <sos>, <eos> included; padding is ignored."
    if answer == sum(TRG_LENGTHS):
        return False, ("<sos> is never predicted: row 0 of outputs is empty and the loss starts at trg[1:]. "
                       "Count one token less per sentence.")
    if answer == (T - 1) * B:
        return False, ("that counts every entry of trg[1:], padding included. CrossEntropyLoss(ignore_index=pad) "
                       "skips the <pad> entries: count only the real tokens.")
    if answer == T * B:
        return False, "that is every entry of trg; drop row 0 (<sos>) and the <pad> entries."
    if answer == sum(n - 2 for n in TRG_LENGTHS):
        return False, ("<eos> is predicted and scored too: the model must learn when to stop. Only <sos> is "
                       "left out.")
    return False, "per sentence: its length minus 1 (no <sos>); padding does not count. Add them up."


# 06.epochs_experiment: notebook 06's short ratio-1 training (batches of 16, lr 0.01, the profile's seed),
# run for 3 epochs instead of 1, scored on the validation split. Measured in the `ci` profile on CPUs in fp32
# and bf16 (the two agree within 4%); the bands allow 6% or more around them.
EXPERIMENT_EPOCHS = 3
EXPERIMENT_BANDS = {"teacher_forced": (3.20, 3.70), "free_running": (5.25, 6.05)}  # 3 epochs: 3.42-3.45, 5.58-5.71
ONE_EPOCH_BANDS = {"teacher_forced": (3.75, 4.25), "free_running": (4.60, 5.25)}  # 1 epoch: 3.93-4.04, 4.85-5.04


def _in(value: float, band: tuple[float, float]) -> bool:
    return band[0] <= value <= band[1]


@exercise("06.epochs_experiment")
def epochs_experiment(answer: object) -> tuple[bool, str]:
    """(teacher-forced, free-running) validation loss after the short ratio-1 training run for 3 epochs (ci)."""
    from ..config import get_profile

    if isinstance(answer, dict):
        answer = (answer.get("teacher_forced"), answer.get("free_running"))
    numbers = [as_number(v) for v in answer] if isinstance(answer, (list, tuple)) and len(answer) == 2 else [None]
    if None in numbers:
        return False, ("answer with two numbers, (teacher-forced loss, free-running loss), as the cell prints "
                       "them, e.g. answer = (result['teacher_forced'], result['free_running']).")
    forced, free = numbers
    profile = get_profile().name
    if profile != "ci":
        return False, (f"the expected values were measured in the `ci` profile and this is `{profile}`: run the "
                       "notebook with SEQ2SEQ_PROFILE=ci to check the numbers.")
    if _in(forced, EXPERIMENT_BANDS["teacher_forced"]) and _in(free, EXPERIMENT_BANDS["free_running"]):
        return True, ("two more epochs on gold inputs lower the teacher-forced loss (the model predicts the next "
                      "word of a reference better) while the free-running loss rises: trained only on gold "
                      "prefixes, it copes worse with its own. That is exposure bias growing.")
    if _in(free, EXPERIMENT_BANDS["teacher_forced"]) and _in(forced, EXPERIMENT_BANDS["free_running"]):
        return False, "the numbers look swapped: the teacher-forced loss comes first, the free-running one second."
    if _in(forced, ONE_EPOCH_BANDS["teacher_forced"]) and _in(free, ONE_EPOCH_BANDS["free_running"]):
        return False, (f"those look like the losses after 1 epoch. Set EPOCHS = {EXPERIMENT_EPOCHS} in the cell, run "
                       "it again, and answer with the two numbers it prints.")
    return False, (f"run the cell with EPOCHS = {EXPERIMENT_EPOCHS} and the ratio left at 1.0, and answer with the "
                   f"two losses it prints; after 3 epochs the teacher-forced one should lie in "
                   f"{EXPERIMENT_BANDS['teacher_forced']} and the free-running one in {EXPERIMENT_BANDS['free_running']}.")

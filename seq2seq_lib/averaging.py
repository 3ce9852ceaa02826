"""Checkpoint averaging: the mean of the weights of several epochs of one run.

Late in training the weights wander around a minimum from epoch to epoch; their average often sits
nearer its centre and translates better than any one of them. Vaswani et al. (2017) averaged the
last 5 (base) or 20 (big) checkpoints of each Transformer run. `fit(..., keep_epochs=True)`
(command line: `train --keep-epochs`) keeps every epoch's weights as `epoch_NN.pt`;
`average_checkpoints` (command line: `average`) turns some of them into one checkpoint that loads,
evaluates and translates like any other.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_checkpoint, tied_entries

SAME = ("model_config", "data_config", "src_vocab", "trg_vocab")  # what every averaged checkpoint must share


def epoch_name(epoch: int) -> str:
    """The file `fit(keep_epochs=True)` writes after 1-based `epoch`.

    >>> epoch_name(7)
    'epoch_07.pt'
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"epoch must be an integer >= 1, got {epoch!r}.")
    return f"epoch_{epoch:02d}.pt"


def average_checkpoints(paths: list[str | os.PathLike]) -> dict:
    """One checkpoint whose weights are the mean of those in `paths` (same model, same vocabularies).

    Floating-point weights are averaged in float64 and stored in their own dtype; the result keeps
    the last checkpoint's configs and history, records the averaged epochs in `extra["averaged"]`,
    and holds no optimizer state (it is for evaluating and translating, not for resuming).
    """
    if isinstance(paths, (str, os.PathLike)) or not paths:
        raise ValueError("paths must be a non-empty list of checkpoint files, e.g. sorted(Path('runs/x').glob("
                         "'epoch_*.pt'))[-5:].")
    checkpoints = [load_checkpoint(path) for path in paths]
    first = checkpoints[0]
    for path, checkpoint in zip(paths[1:], checkpoints[1:]):
        differ = [key for key in SAME if checkpoint.get(key) != first.get(key)]
        if differ or checkpoint["model_state"].keys() != first["model_state"].keys():
            raise CheckpointError(f"{path} is not the same model as {paths[0]} (different {', '.join(differ) or 'weights'}); "
                                  "average only checkpoints of one run.")
    state = {}
    for key, tensor in first["model_state"].items():
        if tensor.is_floating_point():
            total = sum(c["model_state"][key].double() for c in checkpoints)
            state[key] = (total / len(checkpoints)).to(tensor.dtype)
        else:  # counters and the like: the last checkpoint's
            state[key] = checkpoints[-1]["model_state"][key]
    for key, source in tied_entries(first["model_state"]).items():  # tied entries share the averaged tensor too
        state[key] = state[source]
    last = checkpoints[-1]
    epochs = [int(c.get("epoch", 0)) for c in checkpoints]
    return {**last, "model_state": state, "optimizer_state": None, "scaler_state": None, "rng_state": None,
            "extra": {**(last.get("extra") or {}), "averaged": epochs,
                      "averaged_files": [Path(p).name for p in paths]}}


def save_average(paths: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Average the checkpoints at `paths` and write the result atomically to `out`; returns `out`."""
    from .files import write_atomically

    out = Path(out)
    if out.resolve() in {Path(p).resolve() for p in paths}:
        raise ValueError(f"{out} is one of the checkpoints being averaged; write the average to a new file.")
    averaged = average_checkpoints(paths)
    return write_atomically(out, lambda handle: torch.save(averaged, handle))


__all__ = ["epoch_name", "average_checkpoints", "save_average"]

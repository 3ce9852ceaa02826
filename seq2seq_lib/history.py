"""History: the per-epoch figures of a training run, as `fit` records them and checkpoints keep them.

Two validation losses are kept per epoch. `val_loss` is teacher-forced: every decoder input is the
reference prefix, so it is the per-token cross-entropy of the reference and its exp is *the*
perplexity (`val_ppl`). `val_loss_free_running` is measured with the model reading its own previous
predictions, as when it translates: a diagnostic of exposure bias. Once a prediction leaves the
reference, every later reference token is scored after another prefix, so its exp is not a
perplexity of the references.

>>> history = History.from_dict({"train_loss": [4.0], "val_loss": [4.5]})  # saved before both were kept
>>> history.val_loss_free_running, history.val_loss, history.best_epoch
([4.5], [nan], 1)
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from .metrics import perplexity


def _exp(loss: float) -> float:
    """perplexity(loss), NaN for an epoch where the loss was not measured."""
    return math.nan if math.isnan(loss) else perplexity(loss)


@dataclass
class History:
    """Per-epoch figures: mean loss per target token, wall seconds and training tokens per second.

    `val_loss` is the teacher-forced validation loss (NaN for epochs of runs saved before it was
    measured), `val_loss_free_running` the free-running one.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    tokens_per_second: list[float] = field(default_factory=list)
    val_loss_free_running: list[float] = field(default_factory=list)

    @classmethod
    def from_dict(cls, values: Mapping) -> "History":
        """Rebuild a History from `to_dict()`, also from a run saved before both validation losses were kept.

        Such a run measured its one validation loss free running (the model reading its own
        predictions): that list becomes `val_loss_free_running`, and the teacher-forced `val_loss`
        of those epochs, never measured, is NaN.
        """
        if not isinstance(values, Mapping):
            raise ValueError(f"History.from_dict needs a dict like History.to_dict() gives, got {type(values).__name__}.")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"Unknown history entries {unknown}; a history has {names}.")
        legacy = "val_loss_free_running" not in values
        values = {name: [float(v) for v in values.get(name) or []] for name in names}
        if legacy:  # its val_loss was measured free running (teacher forcing off)
            values["val_loss_free_running"], values["val_loss"] = values["val_loss"], [math.nan] * len(values["val_loss"])
        return cls(**values)

    @property
    def train_ppl(self) -> list[float]:
        """exp of each epoch's training loss (measured with the training teacher-forcing ratio and dropout on)."""
        return [perplexity(loss) for loss in self.train_loss]

    @property
    def val_ppl(self) -> list[float]:
        """Validation perplexity: exp of the teacher-forced validation loss."""
        return [_exp(loss) for loss in self.val_loss]

    @property
    def val_ppl_free_running(self) -> list[float]:
        """exp of the free-running validation loss (a diagnostic, not the perplexity of the references)."""
        return [_exp(loss) for loss in self.val_loss_free_running]

    @property
    def best_epoch(self) -> int | None:
        """1-based epoch with the lowest teacher-forced validation loss, the one `fit` keeps in best.pt.

        Ties go to the later epoch, as in `fit`. For a run saved before the teacher-forced loss was
        measured, the lowest free-running loss, the one such runs kept. None before the first epoch.
        """
        losses = self.val_loss if any(math.isfinite(v) for v in self.val_loss) else self.val_loss_free_running
        finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
        return None if not finite else 1 + min(finite, key=lambda i: (losses[i], -i))

    def to_dict(self) -> dict:
        return asdict(self)


__all__ = ["History"]

"""History: the per-epoch figures of a training run, as `fit` records them and checkpoints keep them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .metrics import perplexity


@dataclass
class History:
    """Per-epoch figures: mean loss per target token, wall seconds and training tokens per second."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    tokens_per_second: list[float] = field(default_factory=list)

    @property
    def train_ppl(self) -> list[float]:
        return [perplexity(loss) for loss in self.train_loss]

    @property
    def val_ppl(self) -> list[float]:
        return [perplexity(loss) for loss in self.val_loss]

    @property
    def best_epoch(self) -> int | None:
        """1-based epoch with the lowest validation loss (None before the first epoch)."""
        return None if not self.val_loss else 1 + min(range(len(self.val_loss)), key=self.val_loss.__getitem__)

    def to_dict(self) -> dict:
        return asdict(self)


__all__ = ["History"]

"""Training: one step, one epoch, evaluation, and `fit` (mixed precision, checkpoints, resume).

Losses are means per target token (pad excluded): an epoch's loss is the sum of every token's
cross-entropy divided by the number of tokens, so its exp is the true perplexity. (The classic
write-up averages the per-batch means instead; with bucketed batches the two differ slightly.)
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import check_compatible, load_checkpoint, save_checkpoint, set_rng_state
from .config import DataConfig, ModelConfig, TrainConfig
from .precision import autocast, make_scaler, resolve_precision, tf32_matmuls
from .utils import set_seed


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stopped before the weights were changed."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C / stop button); `history` holds the finished epochs."""

    def __init__(self, message: str, history: "History") -> None:
        super().__init__(message)
        self.history = history


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


def perplexity(loss: float) -> float:
    """exp(loss), inf where it overflows.

    >>> round(perplexity(1.0), 4), perplexity(1e4)
    (2.7183, inf)
    """
    return math.exp(loss) if loss < 700 else math.inf


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, in its fused single-kernel form where this torch and device support it (same maths, faster)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # e.g. MPS on older torch
        return torch.optim.Adam(model.parameters(), lr=lr)


def epoch_learning_rate(train_config: TrainConfig, epoch: int) -> float:
    """Learning rate for 0-based `epoch`: `lr` for the first `lr_decay_after` epochs, then x `lr_decay` per epoch.

    A pure function of the epoch, so a resumed run continues the schedule exactly.

    >>> config = TrainConfig(lr=1e-3, lr_decay=0.5, lr_decay_after=5)
    >>> [epoch_learning_rate(config, e) * 1e3 for e in (0, 4, 5, 6, 9)]
    [1.0, 1.0, 0.5, 0.25, 0.03125]
    """
    if not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0 (0-based), got {epoch!r}.")
    return train_config.lr * train_config.lr_decay ** max(0, epoch + 1 - train_config.lr_decay_after)


def _check_loss(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"The loss became {value} at {where}; training stopped before updating the weights. "
            "Try a lower learning rate (e.g. replace(train_config, lr=3e-4)), keep gradient clipping "
            "on, or use precision='fp32'. The checkpoints from earlier epochs are kept.")


def train_step(model: nn.Module, batch: Any, optimizer: torch.optim.Optimizer, criterion: nn.Module | None,
               clip: float, teacher_forcing_ratio: float, device: torch.device, precision: str = "fp32",
               scaler: torch.amp.GradScaler | None = None) -> tuple[float, int]:
    """One optimisation step on a batch -> (mean loss per target token, number of target tokens)."""
    src, trg = batch.src.to(device, non_blocking=True), batch.trg.to(device, non_blocking=True)  # (S, B), (T, B)
    src_lengths = getattr(batch, "src_lengths", None)
    optimizer.zero_grad(set_to_none=True)
    with autocast(device, precision):
        loss, n_tokens = model.loss(src, trg, teacher_forcing_ratio, src_lengths, criterion)
    value = loss.item()
    _check_loss(value, "this batch")
    with tf32_matmuls(device):  # the backward's matrix products too, where the forward's used TF32
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        else:
            loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return value, n_tokens


def _bar(batches: Iterable, progress: bool, desc: str) -> Iterator:
    return tqdm(batches, total=len(batches), desc=desc, disable=not progress, leave=False, dynamic_ncols=True)


def _check_batches(batches: Any, name: str) -> None:
    if not hasattr(batches, "__len__") or len(batches) == 0:
        raise ValueError(f"{name} must be a non-empty iterable of batches with len(); got "
                         f"{type(batches).__name__}. Build one with seq2seq_lib.batching.BucketIterator.")


def train_epoch(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer,
                criterion: nn.Module | None, clip: float, teacher_forcing_ratio: float,
                device: torch.device, precision: str = "fp32",
                scaler: torch.amp.GradScaler | None = None, progress: bool = True) -> float:
    """Train for one pass over `batches` -> mean loss per target token."""
    return _train_epoch(model, batches, optimizer, criterion, clip, teacher_forcing_ratio, device,
                        precision, scaler, progress)[0]


def _train_epoch(model, batches, optimizer, criterion, clip, ratio, device, precision, scaler,
                 progress, desc="train", position=None):
    _check_batches(batches, "batches")
    model.train()
    total = tokens = 0
    bar = _bar(batches, progress, desc)
    for index, batch in enumerate(bar):
        try:
            loss, n = train_step(model, batch, optimizer, criterion, clip, ratio, device, precision, scaler)
        except NonFiniteLossError as error:
            raise NonFiniteLossError(str(error).replace("this batch", f"{desc}, batch {index + 1}")) from None
        total, tokens = total + loss * n, tokens + n
        if position is not None:
            position["done"] = f"after {index + 1}/{len(batches)} batches"
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
    return total / tokens, tokens


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, criterion: nn.Module | None, device: torch.device,
             teacher_forcing_ratio: float = 0.0, precision: str = "fp32", progress: bool = False) -> dict:
    """Loss per target token and perplexity without training -> {'loss', 'perplexity', 'tokens'}.

    The default ratio 0 makes the model read its own predictions, as when translating.
    """
    _check_batches(batches, "batches")
    model.eval()
    total = tokens = 0
    for batch in _bar(batches, progress, "eval"):
        src, trg = batch.src.to(device), batch.trg.to(device)  # (S, B), (T, B)
        with autocast(device, precision):
            loss, n = model.loss(src, trg, teacher_forcing_ratio, getattr(batch, "src_lengths", None), criterion)
        total, tokens = total + loss.item() * n, tokens + n
    mean = total / tokens
    return {"loss": mean, "perplexity": perplexity(mean), "tokens": tokens}


def plot_history(history: History, axes: Any = None) -> Any:
    """Training/validation loss and perplexity per epoch on two axes; returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = range(1, len(history.train_loss) + 1)
    for ax, (name, train, val) in zip(axes, (("loss", history.train_loss, history.val_loss),
                                             ("perplexity", history.train_ppl, history.val_ppl))):
        ax.clear()
        ax.plot(epochs, train, "o-", label="train")
        ax.plot(epochs, val, "o-", label="validation")
        ax.set(xlabel="epoch", ylabel=name, yscale="log" if name == "perplexity" else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return axes[0].figure


def _live_plot(history: History) -> None:
    import matplotlib.pyplot as plt
    from IPython.display import clear_output, display

    figure = plot_history(history)
    clear_output(wait=True)
    display(figure)
    plt.close(figure)


def fit(model: nn.Module, train_batches: Iterable, val_batches: Iterable, *, train_config: TrainConfig,
        device: torch.device, out_dir: str | Path, src_vocab: Any, trg_vocab: Any,
        model_config: ModelConfig, data_config: DataConfig | None = None, resume: bool = False,
        live_plot: bool = False, progress: bool = True) -> History:
    """Train for `train_config.epochs` epochs; keep best.pt (lowest val loss) and last.pt (for resume)."""
    if not isinstance(train_config, TrainConfig) or not isinstance(model_config, ModelConfig):
        raise ValueError("fit needs train_config=TrainConfig(...) and model_config=ModelConfig(...).")
    _check_batches(train_batches, "train_batches")
    _check_batches(val_batches, "val_batches")
    out_dir = Path(out_dir)
    best_path, last_path = out_dir / "best.pt", out_dir / "last.pt"
    device = torch.device(device)
    precision = resolve_precision(train_config.precision, device)
    model.to(device)
    optimizer = make_optimizer(model, train_config.lr)
    scaler = make_scaler(device, precision)
    criterion = nn.CrossEntropyLoss(ignore_index=getattr(model, "pad_idx", 1))
    history, start = History(), 0
    if resume:
        if not last_path.is_file():
            raise FileNotFoundError(f"resume=True but there is no {last_path}; check out_dir, or start "
                                    "with fit(..., resume=False) (without resume).")
        checkpoint = load_checkpoint(last_path, map_location=device)
        check_compatible(checkpoint, model_config=model_config, src_vocab=src_vocab, trg_vocab=trg_vocab,
                         data_config=data_config)
        start = checkpoint["epoch"]
        if start >= train_config.epochs:
            raise ValueError(f"{last_path} has already finished {start} epoch(s) and train_config.epochs is "
                             f"{train_config.epochs}: nothing to resume. To train longer, pass "
                             f"train_config=replace(train_config, epochs={start + 5}) (or any number > {start}).")
        model.load_state_dict(checkpoint["model_state"])
        optimizer.load_state_dict(checkpoint["optimizer_state"])
        if scaler is not None and checkpoint["scaler_state"]:
            scaler.load_state_dict(checkpoint["scaler_state"])
        set_rng_state(checkpoint["rng_state"])
        history = History(**checkpoint["history"])
        print(f"Resuming from {last_path} after epoch {start} (precision {precision}).")
    else:
        set_seed(train_config.seed)
        print(f"Training {train_config.epochs} epoch(s) on {device} with precision {precision}.")

    def save(path: Path, epoch: int, full: bool) -> None:
        save_checkpoint(path, model=model, model_config=model_config, train_config=train_config,
                        data_config=data_config, src_vocab=src_vocab, trg_vocab=trg_vocab,
                        optimizer=optimizer if full else None, scaler=scaler if full else None,
                        epoch=epoch, history=history.to_dict(), save_rng=full,
                        best_val_loss=min(history.val_loss, default=None))

    position: dict = {}
    epoch = completed = start
    try:
        for epoch in range(start, train_config.epochs):
            for batches in (train_batches, val_batches):
                if hasattr(batches, "set_epoch"):
                    batches.set_epoch(epoch)
            for group in optimizer.param_groups:
                group["lr"] = epoch_learning_rate(train_config, epoch)
            position.clear()
            began = time.perf_counter()
            train_loss, tokens = _train_epoch(model, train_batches, optimizer, criterion, train_config.clip,
                                              train_config.teacher_forcing_ratio, device, precision, scaler,
                                              progress, f"epoch {epoch + 1}/{train_config.epochs}", position)
            train_seconds = time.perf_counter() - began
            position["done"] = "during validation"
            val_loss = evaluate(model, val_batches, criterion, device, 0.0, precision)["loss"]
            _check_loss(val_loss, f"validation after epoch {epoch + 1}")
            history.train_loss.append(train_loss)
            history.val_loss.append(val_loss)
            history.epoch_seconds.append(time.perf_counter() - began)
            history.tokens_per_second.append(tokens / train_seconds)
            improved = val_loss <= min(history.val_loss)
            if improved:
                save(best_path, epoch + 1, full=False)
            save(last_path, epoch + 1, full=True)
            completed, position["done"] = epoch + 1, "after it finished"
            if live_plot:
                _live_plot(history)
            tqdm.write(f"Epoch {epoch + 1:02d} | {history.epoch_seconds[-1]:6.1f} s | "
                       f"train loss {train_loss:.3f} (ppl {perplexity(train_loss):8.2f}) | "
                       f"val loss {val_loss:.3f} (ppl {perplexity(val_loss):8.2f}) | "
                       f"{history.tokens_per_second[-1]:,.0f} tok/s" + (" | saved best.pt" if improved else ""))
    except KeyboardInterrupt:
        where = f"epoch {epoch + 1} " + position.get("done", "before its first batch finished")
        history = History(**{name: values[:completed] for name, values in history.to_dict().items()})
        save(last_path, completed, full=True)
        raise TrainingInterrupted(
            f"Training interrupted in {where}. Saved {last_path} with the weights at the interruption "
            f"({best_path} is untouched). Resume with fit(..., resume=True): it continues from those "
            f"weights with epoch {completed + 1}.", history) from None
    return history


__all__ = ["NonFiniteLossError", "TrainingInterrupted", "History", "perplexity", "make_optimizer",
           "epoch_learning_rate", "train_step", "train_epoch", "evaluate", "plot_history", "fit"]

"""Training: one step, one epoch, evaluation, and `fit` (mixed precision, checkpoints, resume).

Losses are means per target token (pad excluded): an epoch's loss is the sum of every token's
cross-entropy divided by the number of tokens. (Averaging the per-batch means instead would weight
a short batch like a long one; with bucketed batches the two differ slightly.)

`fit` validates twice per epoch. Teacher-forced (every decoder input the reference prefix), the
loss is the per-token cross-entropy of the references, and its exp is the perplexity. Free running
(the model reads its own previous predictions, as when it translates), it is a diagnostic of
exposure bias: once the model's prefix drifts from the reference, every later reference token is
scored after another prefix.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import fast as engine
from .averaging import epoch_name
from .batching import check_batch_object, check_batches, progress_bar
from .checkpoint import ModelSpec, check_compatible, load_checkpoint, save_checkpoint, set_rng_state
from .config import TrainConfig
from .evaluation import evaluate_loss
from .history import History
from .metrics import perplexity
from .precision import PRECISIONS, autocast, make_scaler, resolve_precision, tf32_matmuls
from .runs import BEST, LAST
from .utils import set_seed, usable_device


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stopped before the weights were changed."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C / stop button); `history` holds the finished epochs."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


def epoch_learning_rate(train_config: TrainConfig, epoch: int) -> float:
    """Learning rate for 0-based `epoch`: `lr` for the first `lr_decay_after` epochs, then x `lr_decay` per epoch.

    A pure function of the epoch, so a resumed run continues the schedule exactly.

    >>> config = TrainConfig(lr=1e-3, lr_decay=0.5, lr_decay_after=5)
    >>> [epoch_learning_rate(config, e) * 1e3 for e in (0, 4, 5, 6, 9)]
    [1.0, 1.0, 0.5, 0.25, 0.03125]
    """
    if not isinstance(train_config, TrainConfig):
        raise TypeError(f"train_config must be a TrainConfig (e.g. profile.train), got {type(train_config).__name__}.")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0 (0-based), got {epoch!r}.")
    return train_config.lr * train_config.lr_decay ** max(0, epoch + 1 - train_config.lr_decay_after)


def warmup_learning_rate(train_config: TrainConfig, step: int) -> float:
    """The Transformer's schedule for 1-based optimisation `step`: a linear rise to `lr` over
    `warmup_steps`, then decay as 1/sqrt(step) (Vaswani et al., 2017, with `lr` as the peak).

    >>> config = TrainConfig(lr=1e-3, warmup_steps=100)
    >>> [round(warmup_learning_rate(config, s) * 1e3, 3) for s in (1, 50, 100, 400)]
    [0.01, 0.5, 1.0, 0.5]
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"step must be an integer >= 1 (1-based), got {step!r}.")
    if train_config.warmup_steps < 1:
        raise ValueError("warmup_learning_rate needs TrainConfig(warmup_steps=...) > 0; without warm-up the "
                         "rate follows epoch_learning_rate.")
    warmup = train_config.warmup_steps
    return train_config.lr * min(step / warmup, math.sqrt(warmup / step))


def _check_loss(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"The loss became {value} at {where}; training stopped before updating the weights. "
            "Try a lower learning rate (e.g. replace(train_config, lr=3e-4)), keep gradient clipping "
            "on, or use precision='fp32'. The checkpoints from earlier epochs are kept.")


@dataclass(frozen=True)
class StepOptions:
    """How every training step runs; `StepOptions.from_config` derives it once from a TrainConfig."""

    device: torch.device
    clip: float = 1.0
    teacher_forcing_ratio: float = 0.5
    precision: str = "fp32"  # resolved: "fp32", "bf16" or "fp16" (see seq2seq_lib.precision)
    fast: bool = True  # the engine (seq2seq_lib.fast) or the textbook Seq2Seq.loss; equal without dropout
    scaler: torch.amp.GradScaler | None = None  # fp16 only

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", usable_device(self.device))  # frozen: set once, here
        if not (isinstance(self.clip, (int, float)) and self.clip > 0):
            raise ValueError(f"clip must be a number > 0 (the largest gradient norm), got {self.clip!r}.")
        if not (isinstance(self.teacher_forcing_ratio, (int, float)) and 0 <= self.teacher_forcing_ratio <= 1):
            raise ValueError(f"teacher_forcing_ratio must be in [0, 1], got {self.teacher_forcing_ratio!r}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS} (resolve 'auto' with resolve_precision), "
                             f"got {self.precision!r}.")

    @classmethod
    def from_config(cls, train_config: TrainConfig, device: torch.device | str) -> "StepOptions":
        """The options `fit` uses: the config's clip, ratio and engine flag, its precision resolved for `device`."""
        device = usable_device(device)
        precision = resolve_precision(train_config.precision, device)
        return cls(device, train_config.clip, train_config.teacher_forcing_ratio, precision, train_config.fast,
                   make_scaler(device, precision))


def make_optimizer(model: nn.Module, lr: float, fast: bool = True) -> torch.optim.Optimizer:
    """Adam: the engine's fused form with `fast`, else the classic one (the same update)."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
        raise ValueError(f"lr must be a positive number such as 1e-3, got {lr!r}.")
    return engine.make_optimizer(model, lr) if fast else torch.optim.Adam(model.parameters(), lr=lr)


def _check_step_inputs(batch: Any, options: Any) -> None:
    check_batch_object(batch)
    if not isinstance(options, StepOptions):
        raise TypeError(f"options must be a StepOptions, got {type(options).__name__}; build it with "
                        "StepOptions(device) or StepOptions.from_config(train_config, device).")


def train_step(model: nn.Module, batch: Any, optimizer: torch.optim.Optimizer, options: StepOptions,
               criterion: nn.Module | None = None) -> tuple[float, int]:
    """One optimisation step on a batch -> (mean loss per target token, number of target tokens)."""
    _check_step_inputs(batch, options)
    device = options.device
    src, trg = batch.src.to(device, non_blocking=True), batch.trg.to(device, non_blocking=True)  # (S, B), (T, B)
    src_lengths = getattr(batch, "src_lengths", None)
    optimizer.zero_grad(set_to_none=True)
    compute_loss = engine.loss if options.fast else type(model).loss
    with autocast(device, options.precision):
        loss, n_tokens = compute_loss(model, src, trg, options.teacher_forcing_ratio, src_lengths, criterion)
    value = loss.item()
    _check_loss(value, "this batch")
    scaler = options.scaler
    with tf32_matmuls(device):  # the backward's matrix products too, where the forward's used TF32
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        else:
            loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), options.clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return value, n_tokens


def train_epoch(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer, options: StepOptions,
                criterion: nn.Module | None = None, progress: bool = True) -> float:
    """Train for one pass over `batches` -> mean loss per target token."""
    return _train_epoch(model, batches, optimizer, options, criterion, progress)[0]


def _train_epoch(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer, options: StepOptions,
                 criterion: nn.Module | None, progress: bool, desc: str = "train",
                 position: dict | None = None, rate: Callable[[int], float] | None = None) -> tuple[float, int]:
    """train_epoch -> (mean loss, target tokens); `position` tracks how far it got, for an interruption;
    `rate(batch index)`, when given, sets the learning rate before each step."""
    check_batches(batches, "batches")
    model.train()
    total = tokens = 0
    bar = progress_bar(batches, progress, desc)
    for index, batch in enumerate(bar):
        if rate is not None:
            for group in optimizer.param_groups:
                group["lr"] = rate(index)
        try:
            loss, n = train_step(model, batch, optimizer, options, criterion)
        except NonFiniteLossError as error:
            raise NonFiniteLossError(str(error).replace("this batch", f"{desc}, batch {index + 1}")) from None
        total, tokens = total + loss * n, tokens + n
        if position is not None:
            position["done"] = f"after {index + 1}/{len(batches)} batches"
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
    return total / tokens, tokens


def fit(model: nn.Module, train_batches: Iterable, val_batches: Iterable, *, spec: ModelSpec,
        train_config: TrainConfig, device: torch.device | str, out_dir: str | Path, resume: bool = False,
        live_plot: bool = False, progress: bool = True, keep_epochs: bool = False) -> History:
    """Train for `train_config.epochs` epochs; keep best.pt (lowest teacher-forced val loss) and last.pt.

    Every epoch records the training loss, the teacher-forced validation loss (`History.val_loss`,
    whose exp is the perplexity) and the free-running one (`History.val_loss_free_running`).
    last.pt holds everything needed to resume. With `keep_epochs` every epoch's weights are kept
    too, as epoch_NN.pt, for checkpoint averaging (`seq2seq_lib.averaging`).

    `spec` (the model's config, vocabularies and data config) goes into every checkpoint, so a
    translator can be rebuilt from the file and a resumed run can check it continues the same model.
    """
    if not isinstance(train_config, TrainConfig) or not isinstance(spec, ModelSpec):
        raise ValueError("fit needs train_config=TrainConfig(...) and spec=ModelSpec(model_config, src_vocab, "
                         "trg_vocab, data_config) (Prepared.spec(model_config) builds one).")
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit trains a model (build one with models.build_model), got {type(model).__name__}.")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a folder path for best.pt and last.pt, e.g. 'runs/classic', got {out_dir!r}.")
    check_batches(train_batches, "train_batches")
    check_batches(val_batches, "val_batches")
    out_dir = Path(out_dir)
    best_path, last_path = out_dir / BEST, out_dir / LAST
    options = StepOptions.from_config(train_config, device)
    device, precision = options.device, options.precision
    model.to(device)
    optimizer = make_optimizer(model, train_config.lr, train_config.fast)
    pad_idx = getattr(model, "pad_idx", 1)
    criterion = nn.CrossEntropyLoss(ignore_index=pad_idx)  # validation: the true likelihood, never smoothed
    train_criterion = nn.CrossEntropyLoss(ignore_index=pad_idx, label_smoothing=train_config.label_smoothing)
    history, start = History(), 0
    if resume:
        if not last_path.is_file():
            raise FileNotFoundError(f"resume=True but there is no {last_path}; check out_dir, or start "
                                    "with fit(..., resume=False) (without resume).")
        checkpoint = load_checkpoint(last_path, map_location=device)
        check_compatible(checkpoint, spec)
        start = checkpoint["epoch"]
        if start >= train_config.epochs:
            raise ValueError(f"{last_path} has already finished {start} epoch(s) and train_config.epochs is "
                             f"{train_config.epochs}: nothing to resume. To train longer, pass "
                             f"train_config=replace(train_config, epochs={start + 5}) (or any number > {start}).")
        model.load_state_dict(checkpoint["model_state"])
        optimizer.load_state_dict(checkpoint["optimizer_state"])
        if options.scaler is not None and checkpoint["scaler_state"]:
            options.scaler.load_state_dict(checkpoint["scaler_state"])
        set_rng_state(checkpoint["rng_state"])
        history = History.from_dict(checkpoint["history"])
        print(f"Resuming from {last_path} after epoch {start} (precision {precision}).")
    else:
        set_seed(train_config.seed)
        print(f"Training {train_config.epochs} epoch(s) on {device} with precision {precision}.")

    def save(path: Path, epoch: int, resumable: bool) -> None:
        save_checkpoint(path, model=model, spec=spec, train_config=train_config, epoch=epoch,
                        history=history.to_dict(), optimizer=optimizer if resumable else None,
                        scaler=options.scaler if resumable else None)

    position: dict = {}
    epoch = completed = start
    try:
        for epoch in range(start, train_config.epochs):
            for batches in (train_batches, val_batches):
                if hasattr(batches, "set_epoch"):
                    batches.set_epoch(epoch)
            for group in optimizer.param_groups:
                group["lr"] = epoch_learning_rate(train_config, epoch)
            steps_before = epoch * len(train_batches)  # a pure function of the position: resumes exactly
            rate = ((lambda index: warmup_learning_rate(train_config, steps_before + index + 1))
                    if train_config.warmup_steps else None)
            position.clear()
            began = time.perf_counter()
            train_loss, tokens = _train_epoch(model, train_batches, optimizer, options, train_criterion, progress,
                                              f"epoch {epoch + 1}/{train_config.epochs}", position, rate)
            train_seconds = time.perf_counter() - began
            position["done"] = "during validation"
            # ratio 1: the reference prefix is fed, so this is the cross-entropy of the references (exp: perplexity);
            # ratio 0: the model reads its own predictions, as when it translates (exposure bias shows here)
            val_loss = evaluate_loss(model, val_batches, device, 1.0, precision, options.fast, criterion)["loss"]
            val_free = evaluate_loss(model, val_batches, device, 0.0, precision, options.fast, criterion)["loss"]
            _check_loss(val_loss, f"validation (teacher-forced) after epoch {epoch + 1}")
            _check_loss(val_free, f"validation (free-running) after epoch {epoch + 1}")
            history.train_loss.append(train_loss)
            history.val_loss.append(val_loss)
            history.val_loss_free_running.append(val_free)
            history.epoch_seconds.append(time.perf_counter() - began)
            history.tokens_per_second.append(tokens / train_seconds)
            # best.pt is selected on the teacher-forced validation loss, the model's likelihood of the
            # references: the standard criterion, and the perplexity reported. The free-running loss
            # mixes in where each sentence happened to drift from its reference, which makes it a noisier
            # judge of the weights. (NaN: an epoch of a run saved before this loss was measured.)
            earlier = [loss for loss in history.val_loss[:-1] if math.isfinite(loss)]
            improved = val_loss <= min(earlier, default=math.inf)
            if improved:
                save(best_path, epoch + 1, resumable=False)
            if keep_epochs:
                save(out_dir / epoch_name(epoch + 1), epoch + 1, resumable=False)
            save(last_path, epoch + 1, resumable=True)
            completed, position["done"] = epoch + 1, "after it finished"
            if live_plot:
                from .curves import live_plot as draw

                draw(history)
            tqdm.write(f"Epoch {epoch + 1:02d} | {history.epoch_seconds[-1]:6.1f} s | "
                       f"train loss {train_loss:.3f} | val loss teacher-forced {val_loss:.3f} "
                       f"(ppl {perplexity(val_loss):.2f}), free-running {val_free:.3f} | "
                       f"{history.tokens_per_second[-1]:,.0f} tok/s" + (" | saved best.pt" if improved else ""))
    except KeyboardInterrupt:
        where = f"epoch {epoch + 1} " + position.get("done", "before its first batch finished")
        history = History.from_dict({name: values[:completed] for name, values in history.to_dict().items()})
        save(last_path, completed, resumable=True)
        raise TrainingInterrupted(
            f"Training interrupted in {where}. Saved {last_path} with the weights at the interruption "
            f"({best_path} is untouched). Resume with fit(..., resume=True): it continues from those "
            f"weights with epoch {completed + 1}.", history) from None
    return history


__all__ = ["NonFiniteLossError", "TrainingInterrupted", "StepOptions", "epoch_learning_rate",
           "warmup_learning_rate", "make_optimizer",
           "train_step", "train_epoch", "evaluate_loss", "fit"]

"""Evaluation: a model's loss on batches (`evaluate_loss`), and a saved checkpoint or shipped
pretrained model on a Multi30k split (`evaluate_checkpoint`, `evaluate_pretrained`: losses,
perplexities, both BLEU scores and chrF).

`evaluate_checkpoint` numericalizes the split with the checkpoint's own vocabularies, so the
numbers belong to the model as it was trained, whatever profile is in effect now. BLEU itself
lives in `metrics.evaluate_bleu`.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable

import torch
from torch import nn

from . import fast as engine
from .batching import BucketIterator, check_batches, progress_bar
from .checkpoint import load_checkpoint
from .data import load_multi30k
from .decode import check_decode_options
from .metrics import evaluate_bleu, perplexity
from .precision import autocast
from .prepare import numericalize_pairs
from .translator import Translator
from .utils import available_device


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: Iterable, device: torch.device | str,
                  teacher_forcing_ratio: float = 0.0, precision: str = "fp32", fast: bool = True,
                  criterion: nn.Module | None = None, progress: bool = False) -> dict:
    """Loss per target token and perplexity without training -> {'loss', 'perplexity', 'tokens'}.

    The default ratio 0 makes the model read its own predictions, as when translating.
    """
    check_batches(batches)
    model.eval()
    compute_loss = engine.loss if fast else type(model).loss
    total = tokens = 0
    for batch in progress_bar(batches, progress, "eval"):
        src, trg = batch.src.to(device), batch.trg.to(device)  # (S, B), (T, B)
        with autocast(device, precision):
            loss, n = compute_loss(model, src, trg, teacher_forcing_ratio, getattr(batch, "src_lengths", None),
                                   criterion)
        total, tokens = total + loss.item() * n, tokens + n
    mean = total / tokens
    return {"loss": mean, "perplexity": perplexity(mean), "tokens": tokens}


def evaluate_checkpoint(path: str | os.PathLike, split: str = "test", beam_size: int = 1, bleu: bool = True,
                        device: torch.device | str = "cpu", root: str | os.PathLike | None = None,
                        batch_size: int = 256, precision: str = "fp32", fast: bool = True) -> dict:
    """A checkpoint's loss and perplexity (teacher-forced and free-running) and BLEU/chrF on a split.

    Teacher-forced perplexity is the model's likelihood of each reference word given the
    reference words before it; free-running, the model reads its own previous predictions
    instead, as when it translates. `precision` applies to decoding only ("bf16" decodes several
    times faster on CPUs with bf16 support); losses are always computed in fp32.
    """
    device = _check_options(split, beam_size, device)
    checkpoint = load_checkpoint(path, map_location=device)
    return _evaluate(checkpoint, {"checkpoint": str(path)}, split, beam_size, bleu, device, root, batch_size,
                     precision, fast)


def evaluate_pretrained(name: str, split: str = "test", beam_size: int = 1, bleu: bool = True,
                        device: torch.device | str = "cpu", root: str | os.PathLike | None = None,
                        batch_size: int = 256, precision: str = "fp32", fast: bool = True) -> dict:
    """`evaluate_checkpoint` for a model shipped with the package (`pretrained.available()`)."""
    from .pretrained import load_pretrained

    device = _check_options(split, beam_size, device)
    return _evaluate(load_pretrained(name, device), {"pretrained": name}, split, beam_size, bleu, device, root,
                     batch_size, precision, fast)


def _check_options(split: str, beam_size: int, device: torch.device | str) -> torch.device:
    if split not in ("train", "val", "test"):
        raise ValueError(f"Unknown split {split!r}; use 'val' or 'test'.")
    check_decode_options(beam_size)
    return available_device(device, "pass device='cpu' (or utils.get_device() for the best available).")


def _evaluate(checkpoint: dict, source: dict, split: str, beam_size: int, bleu: bool, device: torch.device,
              root: str | os.PathLike | None, batch_size: int, precision: str, fast: bool) -> dict:
    translator = Translator.from_loaded(checkpoint, device=device, precision=precision, fast=fast)
    pairs = load_multi30k(split, root)
    examples = numericalize_pairs(pairs, translator.src_field, translator.trg_field)
    pad_idx = translator.trg_field.vocab[translator.trg_field.pad_token]
    batches = BucketIterator(examples, batch_size, pad_idx, device=device, shuffle=False)
    results = {**source, "split": split, "sentences": len(pairs), "epochs_trained": int(checkpoint.get("epoch", 0))}
    for label, ratio in (("teacher_forced", 1.0), ("free_running", 0.0)):
        scores = evaluate_loss(translator.model, batches, device, ratio, "fp32", fast)  # fp32: reported numbers
        results.update({f"loss_{label}": float(scores["loss"]), f"perplexity_{label}": float(scores["perplexity"])})
    if bleu:
        began = time.perf_counter()
        report = evaluate_bleu(translator, pairs, beam_size=beam_size, batch_size=batch_size)
        results.update({"beam_size": beam_size, "decode_precision": translator.precision,
                        "bleu_sacrebleu": float(report.sacre.score),
                        "bleu_tokens": float(report.token_bleu),
                        "sacrebleu_signature": report.sacre.signature,
                        "chrf": float(report.chrf.score), "chrf_signature": report.chrf.signature,
                        "decode_seconds": round(time.perf_counter() - began, 2)})
    return results


__all__ = ["evaluate_loss", "evaluate_checkpoint", "evaluate_pretrained"]

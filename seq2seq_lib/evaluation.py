"""Evaluate a saved checkpoint on a Multi30k split: loss, perplexity and both BLEU scores.

The split is numericalized with the checkpoint's own vocabularies, so the numbers belong to the
model as it was trained, whatever profile is in effect now.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from torch import nn

from .batching import BucketIterator
from .checkpoint import load_checkpoint
from .data import load_multi30k
from .metrics import evaluate_bleu
from .prepare import numericalize_pairs
from .train import evaluate
from .translator import Translator
from .utils import available_device


def evaluate_checkpoint(path: str | os.PathLike, split: str = "test", beam_size: int = 1, bleu: bool = True,
                        device: torch.device | str = "cpu", root: str | os.PathLike | None = None,
                        batch_size: int = 256, precision: str = "fp32") -> dict:
    """Loss and perplexity with teacher forcing off, and (optionally) BLEU, of a checkpoint on a split.

    `precision` applies to decoding only ("bf16" decodes several times faster on CPUs with bf16
    support); loss and perplexity are always computed in fp32.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"Unknown split {split!r}; use 'val' or 'test'.")
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an integer >= 1, got {beam_size!r}; 1 means greedy decoding.")
    device = available_device(device, "pass device='cpu' (or utils.get_device() for the best available).")
    translator = Translator.from_checkpoint(Path(path), device=device, precision=precision)
    pairs = load_multi30k(split, root)
    examples = numericalize_pairs(pairs, translator.src_field, translator.trg_field)
    pad_idx = translator.trg_field.vocab[translator.trg_field.pad_token]
    batches = BucketIterator(examples, batch_size, pad_idx, device=device, shuffle=False)
    checkpoint = load_checkpoint(path, map_location="cpu")
    criterion = nn.CrossEntropyLoss(ignore_index=pad_idx)
    scores = evaluate(translator.model, batches, criterion, device, 0.0, "fp32")  # fp32: reported numbers
    results = {"checkpoint": str(path), "split": split, "sentences": len(pairs),
               "epochs_trained": int(checkpoint.get("epoch", 0)),
               "loss": float(scores["loss"]), "perplexity": float(scores["perplexity"])}
    if bleu:
        began = time.perf_counter()
        report = evaluate_bleu(translator, pairs, beam_size=beam_size, batch_size=batch_size)
        results.update({"beam_size": beam_size, "decode_precision": translator.precision,
                        "bleu_sacrebleu": float(report.sacre.score),
                        "bleu_tokens": float(report.token_bleu),
                        "sacrebleu_signature": report.sacre.signature,
                        "decode_seconds": round(time.perf_counter() - began, 2)})
    return results


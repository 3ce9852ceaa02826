"""Evaluation: a model's loss on batches (`evaluate_loss`), and a saved checkpoint or shipped
pretrained model on a Multi30k split (`evaluate_checkpoint`, `evaluate_pretrained`: losses,
perplexities, both BLEU scores and chrF).

`evaluate_checkpoint` numericalizes the split with the checkpoint's own vocabularies, so the
numbers belong to the model as it was trained, whatever profile is in effect now. BLEU itself
lives in `metrics.evaluate_bleu`; it scores words for word and subword models alike, whereas the
loss and perplexity of a subword model are per piece ("loss_per" says which), so they do not
compare with a word model's.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from . import fast as engine
from .batching import BucketIterator, check_batches, progress_bar
from .checkpoint import load_checkpoint
from .data import load_multi30k
from .decode import check_decode_options
from .metrics import evaluate_bleu, perplexity
from .models.seq2seq import check_batch
from .precision import autocast
from .prepare import numericalize_pairs
from .subwords import is_subword_dict
from .translator import Translator
from .utils import usable_device


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: Iterable, device: torch.device | str,
                  teacher_forcing_ratio: float = 0.0, precision: str = "fp32", fast: bool = True,
                  criterion: nn.Module | None = None, progress: bool = False) -> dict:
    """Loss per target token and perplexity without training -> {'loss', 'perplexity', 'tokens'}.

    The default ratio 0 makes the model read its own predictions, as when translating.
    """
    check_batches(batches)
    device = usable_device(device)
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


@torch.no_grad()
def sentence_nll(model: nn.Module, batches: Iterable, device: torch.device | str, precision: str = "fp32",
                 fast: bool = True, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forced negative log-likelihood of each reference sentence -> (nll (N,), tokens (N,)).

    nll[n] (float64) sums -log p(word | reference words before it, source) over sentence n's target
    tokens after <sos> (its words and <eos>), and tokens[n] (int64) counts them; sentence n is the
    n-th column the batches yield (a BucketIterator without shuffling sorts by length:
    `iterator.sampler.batches()` gives the order). exp(nll.sum() / tokens.sum()) is the
    teacher-forced perplexity `evaluate_loss(..., teacher_forcing_ratio=1.0)` reports, up to fp32
    rounding; per sentence, it can be resampled (`seq2seq_lib.significance`).
    """
    check_batches(batches)
    device = usable_device(device)
    model.eval()
    sums, counts = [], []
    for batch in progress_bar(batches, progress, "nll"):
        src, trg = batch.src.to(device), batch.trg.to(device)  # (S, B), (T, B)
        src_lengths = getattr(batch, "src_lengths", None)
        check_batch(model, src, trg, 1.0, src_lengths)
        gold = trg[1:]  # (T-1, B): what each step should predict
        keep = gold != model.pad_idx
        with autocast(device, precision):
            if fast and hasattr(model.decoder, "rnn"):  # the engine's block teacher forcing covers the RNN decoders
                features = engine.teacher_forced_features(model, trg, [True] * gold.shape[0],
                                                          model.encode(src, src_lengths))  # (T-1, B, F)
                rows, project = features[keep], model.decoder.fc_out  # (N, F)
            else:  # any other Seq2Seq: its own teacher-forced forward pass
                rows, project = model(src, trg, 1.0, src_lengths)[1:][keep], nn.Identity()  # (N, V)
            targets = gold[keep]  # (N,), in the same (step, sentence) order as rows
            token_nll = torch.cat([F.cross_entropy(project(rows[i:i + 4096]).float(), targets[i:i + 4096],
                                                   reduction="none") for i in range(0, len(rows), 4096)])
        column = keep.nonzero()[:, 1].cpu()  # (N,): the sentence of each kept token
        sums.append(torch.zeros(trg.shape[1], dtype=torch.float64).index_add_(0, column, token_nll.double().cpu()))
        counts.append(keep.sum(0).cpu())
    return torch.cat(sums), torch.cat(counts).long()


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
    return usable_device(device)


def _evaluate(checkpoint: dict, source: dict, split: str, beam_size: int, bleu: bool, device: torch.device,
              root: str | os.PathLike | None, batch_size: int, precision: str, fast: bool) -> dict:
    translator = Translator.from_loaded(checkpoint, device=device, precision=precision, fast=fast)
    pairs = load_multi30k(split, root)
    examples = numericalize_pairs(pairs, translator.src_field, translator.trg_field)
    pad_idx = translator.trg_field.vocab[translator.trg_field.pad_token]
    batches = BucketIterator(examples, batch_size, pad_idx, device=device, shuffle=False)
    results = {**source, "split": split, "sentences": len(pairs), "epochs_trained": int(checkpoint.get("epoch", 0)),
               "loss_per": "subword piece" if is_subword_dict(checkpoint.get("trg_vocab")) else "word"}
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


__all__ = ["evaluate_loss", "sentence_nll", "evaluate_checkpoint", "evaluate_pretrained"]

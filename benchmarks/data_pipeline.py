"""Data pipeline: how long full Multi30k takes to prepare, and how much of each batch is padding.

1. Preparation time of all three splits with `prepare.prepare_data("full")` (read + tokenize +
   vocabularies + numericalize; target <= 5 s), first call (building the spaCy tokenizers
   included) and best of the following calls, then the same work stage by stage.
2. The share of tensor entries that are padding in batches of 128, source and target counted
   together, for bucketed batches (the library's iterator; target <= 8 %) and for random batches
   (about one half).

Measurements only, printed as tables; nothing here asserts a time. The last line is one JSON object.

    SEQ2SEQ_DATA_DIR=../shared/data/multi30k python benchmarks/data_pipeline.py [--repeats 3]

Without Multi30k (and no network) it measures the bundled sample instead and says so.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import torch

from seq2seq_lib.batching import BucketIterator, padding_fraction
from seq2seq_lib.config import get_profile
from seq2seq_lib.data import DataError, load_multi30k, load_sample
from seq2seq_lib.fields import Field, spacy_tokenizer
from seq2seq_lib.prepare import SPLITS, numericalize_tokens, prepare_data, sample_splits, tokenize_pairs

T = TypeVar("T")


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """The result of `function()` and the seconds it took."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def prepare_seconds(root: str | None, use_sample: bool, repeats: int) -> tuple[float, float]:
    """Seconds for prepare_data: the first call (tokenizers built afresh) and the best later call."""
    spacy_tokenizer.cache_clear()
    _, first = timed(lambda: prepare_data("full", root=root, use_sample=use_sample))
    later = [timed(lambda: prepare_data("full", root=root, use_sample=use_sample))[1] for _ in range(repeats)]
    return first, min(later) if later else first


def stage_seconds(root: str | None, use_sample: bool) -> dict[str, float]:
    """The preparation done by hand, one stage at a time (tokenizers built afresh)."""
    config = get_profile("full").data
    seconds = {}
    if use_sample:
        pairs, seconds["read"] = timed(lambda: sample_splits(load_sample()))
    else:
        pairs, seconds["read"] = timed(lambda: {split: load_multi30k(split, root) for split in SPLITS})
    spacy_tokenizer.cache_clear()
    (src_field, trg_field), seconds["spacy tokenizers"] = timed(
        lambda: (Field("de", lower=config.lower), Field("en", lower=config.lower)))
    tokens, seconds["tokenize"] = timed(
        lambda: {split: tokenize_pairs(pairs[split], src_field, trg_field) for split in SPLITS})

    def build_vocabularies() -> None:
        src_field.build_vocab(tokens["train"][0], min_freq=config.min_freq, max_size=config.max_size)
        trg_field.build_vocab(tokens["train"][1], min_freq=config.min_freq, max_size=config.max_size)

    _, seconds["vocab"] = timed(build_vocabularies)
    _, seconds["numericalize"] = timed(
        lambda: {split: numericalize_tokens(tokens[split], src_field, trg_field) for split in SPLITS})
    return seconds


def padding_shares(batches, pad_idx: int) -> dict[str, float]:
    """Padding share of source, target, and both together (the library's padding_fraction)."""
    batches = list(batches)
    share = {}
    for name in ("src", "trg"):
        tensors = [getattr(batch, name) for batch in batches]
        share[name] = sum(int((t == pad_idx).sum()) for t in tensors) / sum(t.numel() for t in tensors)
    share["both"] = padding_fraction(batches, pad_idx)
    share["batches"] = len(batches)
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="Multi30k folder (default: $SEQ2SEQ_DATA_DIR, then the cache)")
    parser.add_argument("--repeats", type=int, default=3, help="timed prepare_data calls after the first")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    use_sample = False
    try:
        load_multi30k("val", args.root)
    except DataError as exc:
        print(f"Multi30k is not available ({str(exc)[:120]}...); measuring the bundled sample instead.\n")
        use_sample = True
    source = "bundled sample (not Multi30k)" if use_sample else "Multi30k"

    first, best = prepare_seconds(args.root, use_sample, args.repeats)
    stages = stage_seconds(args.root, use_sample)
    prepared = prepare_data("full", root=args.root, use_sample=use_sample)
    pad_idx = prepared.pad_idx

    print(f"Data pipeline on {source}: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, Python {platform.python_version()}")
    print("pairs: " + ", ".join(f"{split} {len(prepared.pairs[split]):,}" for split in SPLITS)
          + f"; vocab de {len(prepared.src_field.vocab):,}, en {len(prepared.trg_field.vocab):,}\n")

    print("Preparation, all splits                      seconds")
    print(f"  prepare_data('full'), first call            {first:7.2f}   (target <= 5 s)")
    print(f"  prepare_data('full'), best of {args.repeats} more         {best:7.2f}")
    for name, value in stages.items():
        print(f"  stage: {name:<36}{value:7.2f}")
    print(f"  stages together                             {sum(stages.values()):7.2f}\n")

    padding = {}
    for split in SPLITS:
        bucketed = prepared.iterator(split, batch_size=args.batch_size, seed=args.seed)
        random_batches = BucketIterator(prepared.examples[split], args.batch_size, pad_idx, shuffle=True,
                                        bucket=False, seed=args.seed)
        padding[split] = {"bucketed": padding_shares(bucketed, pad_idx),
                          "random": padding_shares(random_batches, pad_idx)}

    print(f"Padding share of tensor entries, batches of {args.batch_size} (bucketed target <= 8 %)")
    print("  split   batches   bucketed src+trg (src / trg)    random src+trg (src / trg)   random/bucketed")
    for split in SPLITS:
        b, r = padding[split]["bucketed"], padding[split]["random"]
        print(f"  {split:<7}{b['batches']:>8}   {b['both']:7.1%} ({b['src']:5.1%} / {b['trg']:5.1%})"
              f"       {r['both']:7.1%} ({r['src']:5.1%} / {r['trg']:5.1%})   {r['both'] / b['both']:10.1f}x")
    print("  (train batches are shuffled buckets; val/test are sorted by length, as for evaluation)\n")

    result = {
        "benchmark": "data_pipeline",
        "source": source,
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "prepare_first_s": round(first, 3),
        "prepare_best_s": round(best, 3),
        "stages_s": {name: round(value, 3) for name, value in stages.items()},
        "batch_size": args.batch_size,
        "padding": {split: {kind: {key: round(value, 4) for key, value in shares.items()}
                            for kind, shares in kinds.items()} for split, kinds in padding.items()},
    }
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()

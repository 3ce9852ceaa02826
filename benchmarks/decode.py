"""Decoding speed: batched greedy decoding of the test set vs. one sentence at a time, and beam search.

Every run decodes the Multi30k test set (1,000 sentences, `$SEQ2SEQ_DATA_DIR`) with the same model:
- batched greedy: `decode.greedy_decode` on length-sorted batches of `--batch-size` sentences;
- one at a time: the same function on one sentence per call, on a fixed random subset of
  `--subset` sentences (the whole set takes minutes), scaled to 1,000 per sentence; its outputs
  are checked equal to the batched ones;
- batched beam search at each size in `--beams`, in the faster batched precision.
Greedy decoding is timed in each of `--precisions` (fp32 and bf16 autocast by default), batched
and one at a time; the summary gives each precision's ratio and the fastest batched mode
against the fastest one-at-a-time mode (one sentence decodes fastest in fp32 on CPU).
The model is an untrained classic model (13.9M parameters; it rarely says <eos>, so most outputs
run to --max-len, the slowest case) unless `--checkpoint` names a trained one. Prints a table;
the last line is one JSON object.

    SEQ2SEQ_DATA_DIR=../shared/data/multi30k python benchmarks/decode.py
    python benchmarks/decode.py --checkpoint runs/best.pt --beams 1,5
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import torch

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.decode import beam_search, greedy_decode
from seq2seq_lib.models import build_model, count_parameters
from seq2seq_lib.precision import PrecisionUnavailableError, autocast, resolve_precision


def load(checkpoint: str | None, device: torch.device, seed: int):
    """(model, src_field, trg_field, test source sentences, description of the model)."""
    from seq2seq_lib.data import load_multi30k

    sources = [de for de, _ in load_multi30k("test")]
    if checkpoint:
        from seq2seq_lib.translator import Translator

        translator = Translator.from_checkpoint(checkpoint, device)
        return translator.model, translator.src_field, translator.trg_field, sources, f"checkpoint {checkpoint}"
    from seq2seq_lib.prepare import prepare_data

    prepared = prepare_data("full")
    torch.manual_seed(seed)
    model = build_model(ModelConfig(), len(prepared.src_field.vocab), len(prepared.trg_field.vocab)).to(device)
    return model, prepared.src_field, prepared.trg_field, sources, "untrained classic model (ModelConfig())"


def batches_of(ids: list[list[int]], field, batch_size: int, device: torch.device) -> list[tuple]:
    """Length-sorted (indices, src (S, B), lengths (B,)) batches, as Translator makes them."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = []
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        src, lengths = field.pad([ids[i] for i in chunk], device)
        out.append((chunk, src, lengths))
    return out


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a checkpoint written by fit(); default: an untrained model")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--subset", type=int, default=200, help="sentences decoded one at a time")
    parser.add_argument("--beams", default="1,5,10", help="comma-separated beam sizes ('' for none)")
    parser.add_argument("--precisions", default="fp32,bf16",
                        help="comma-separated precisions to time greedy decoding in (fp32, bf16)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    precisions, unavailable = [], {}
    for precision in (p.strip() for p in args.precisions.split(",") if p.strip()):
        try:
            precisions.append(resolve_precision(precision, device))
        except PrecisionUnavailableError as error:  # e.g. bf16 on a CPU without bf16 LSTM kernels
            unavailable[precision] = str(error)
            print(f"{precision}: unavailable ({error})")
    if not precisions:
        parser.error("none of --precisions runs on this device: " + "; ".join(unavailable.values()))
    model, src_field, trg_field, sources, what = load(args.checkpoint, device, args.seed)
    model.eval()
    sos, eos = trg_field.vocab[trg_field.init_token], trg_field.vocab[trg_field.eos_token]
    ids = [src_field.numericalize(tokens) for tokens in src_field.preprocess_many(sources)]
    batches = batches_of(ids, src_field, args.batch_size, device)
    n = len(ids)
    subset = sorted(random.Random(args.seed).sample(range(n), min(args.subset, n)))
    print(f"{what}, {count_parameters(model):,} parameters; {n} test sentences; device {device}, "
          f"{torch.get_num_threads()} threads, max_len {args.max_len}; "
          f"load average {os.getloadavg()[0]:.1f}")

    def run_batched(decode, precision: str, **options) -> tuple[float, list]:
        outputs: list = [None] * n
        elapsed = 0.0
        with autocast(device, precision):
            for chunk, src, lengths in batches:
                seconds, decoded = timed(lambda: decode(model, src, lengths, max_len=args.max_len,
                                                        sos_idx=sos, eos_idx=eos, **options))
                elapsed += seconds
                for row, i in enumerate(chunk):
                    outputs[i] = decoded.tokens[row]
        return elapsed, outputs

    def run_single(precision: str) -> tuple[float, list]:
        """Seconds for the subset one sentence per call, scaled to all n sentences, and the outputs."""
        elapsed, outputs = 0.0, []
        with autocast(device, precision):
            for i in subset:
                src = torch.tensor(ids[i], device=device).unsqueeze(1)  # (S, 1)
                seconds, decoded = timed(lambda: greedy_decode(model, src, torch.tensor([len(ids[i])]),
                                                               args.max_len, sos, eos))
                elapsed += seconds
                outputs.append(decoded.tokens[0])
        return elapsed * n / len(subset), outputs

    rows: list[dict] = []

    def report(mode: str, seconds: float, outputs: list, **extra) -> dict:
        """Add a table row and print it at once (long runs show progress)."""
        tokens = sum(len(o) for o in outputs) * (n / len(outputs))  # scaled to the whole set
        row = {"mode": mode, "seconds": seconds, "sentences_per_s": n / seconds,
               "tokens_per_s": tokens / seconds, "mean_len": tokens / n, **extra}
        rows.append(row)
        print(f"{mode:<50} {seconds:>9.2f} {n / seconds:>9.1f} {tokens / seconds:>10.0f} {tokens / n:>9.1f}",
              flush=True)
        return row

    print(f"\n{'mode':<50} {'seconds':>9} {'sent/s':>9} {'tokens/s':>10} {'mean len':>9}", flush=True)
    greedy: dict[str, list] = {}
    batched_s: dict[str, float] = {}
    single_s: dict[str, float] = {}
    agreement: dict[str, str] = {}
    for precision in precisions:
        with autocast(device, precision):  # warm-up: allocator, kernels
            _, src, lengths = batches[0]
            greedy_decode(model, src, lengths, args.max_len, sos, eos)
        batched_s[precision], greedy[precision] = run_batched(greedy_decode, precision)
        report(f"{precision} greedy, batches of {args.batch_size}", batched_s[precision], greedy[precision])
        single_s[precision], single = run_single(precision)
        report(f"{precision} greedy, one at a time ({len(subset)} sentences, scaled)", single_s[precision], single)
        same = sum(a == greedy[precision][i] for a, i in zip(single, subset))
        agreement[precision] = f"{same}/{len(subset)}"
    fastest_batched = min(batched_s, key=batched_s.get)
    fastest_single = min(single_s, key=single_s.get)
    beam1_same = None
    for beam_size in [int(b) for b in args.beams.split(",") if b.strip()]:
        seconds, outputs = run_batched(beam_search, fastest_batched, beam_size=beam_size)
        report(f"{fastest_batched} beam {beam_size}, batches of {args.batch_size}", seconds, outputs)
        if beam_size == 1:
            beam1_same = sum(a == b for a, b in zip(outputs, greedy[fastest_batched]))
    ratios = {p: single_s[p] / batched_s[p] for p in precisions}
    best = single_s[fastest_single] / batched_s[fastest_batched]
    print()
    for precision, ratio in ratios.items():
        print(f"{precision}: batched greedy is {ratio:.1f}x faster than one sentence at a time in {precision}; "
              f"outputs equal on {agreement[precision]} subset sentences")
    print(f"fastest batched ({fastest_batched}) vs fastest one at a time ({fastest_single}): {best:.1f}x "
          "(target >= 20x)" + ("" if beam1_same is None else f"; beam 1 equals greedy on {beam1_same}/{n}"))
    if len(precisions) > 1:
        differ = sum(a != b for a, b in zip(greedy[precisions[0]], greedy[precisions[-1]]))
        print(f"{precisions[0]} and {precisions[-1]} greedy outputs differ on {differ}/{n} sentences")
    summary = {
        "benchmark": "decode", "model": what, "sentences": n, "device": str(device),
        "threads": torch.get_num_threads(), "max_len": args.max_len,
        "batch_size": args.batch_size, "one_at_a_time_subset": len(subset),
        "seconds": {r["mode"]: round(r["seconds"], 3) for r in rows},
        "sentences_per_s": {r["mode"]: round(r["sentences_per_s"], 2) for r in rows},
        "greedy_batched_speedup": {p: round(r, 2) for p, r in ratios.items()},
        "fastest_batched_vs_fastest_single": round(best, 2),
        "fastest_batched": fastest_batched, "fastest_single": fastest_single,
        "batched_equals_single": agreement,
        "beam1_equals_greedy": None if beam1_same is None else f"{beam1_same}/{n}",
        "load_average": round(os.getloadavg()[0], 2), "unavailable": unavailable,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

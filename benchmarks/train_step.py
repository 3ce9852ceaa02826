"""Training throughput: the engine's step (`fast=True`) vs. the textbook's (`fast=False`), same model.

The textbook step (`train.train_step` with `StepOptions(fast=False)` -> `Seq2Seq.loss`) is the
model the notebooks teach: one decoder call per time step, every step projected onto the whole
vocabulary into a (T, B, V) tensor, cross-entropy over outputs[1:]. The engine's step
(`seq2seq_lib.fast`) runs stretches of teacher-forced steps in one RNN call, short runs through
the cell functions, projects only non-pad rows with the gradient fused into the loss, draws
dropout masks faster on a CPU and uses fused Adam.

Both get the same model weights, the same batches, Adam with the same settings and the same
device. Before timing, their losses and gradients are checked equal in fp32 at teacher forcing
ratios 0 and 1. Prints target tokens/s per mode and the ratios; the last line is one JSON object.

    python benchmarks/train_step.py                 # classic sizes, synthetic Multi30k-like lengths
    python benchmarks/train_step.py --real          # real Multi30k batches ($SEQ2SEQ_DATA_DIR)
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import time

import torch
from torch import nn

from seq2seq_lib import fast as engine
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.fast import cells
from seq2seq_lib.models import build_model
from seq2seq_lib.precision import PrecisionUnavailableError, make_scaler, resolve_precision
from seq2seq_lib.train import StepOptions, make_optimizer, train_step

PAD, SOS, EOS = 1, 2, 3


class Batch(tuple):
    """Minimal stand-in for batching.Batch: (src, src_lengths, trg, trg_lengths)."""

    src = property(lambda self: self[0])
    src_lengths = property(lambda self: self[1])
    trg = property(lambda self: self[2])
    trg_lengths = property(lambda self: self[3])


def synthetic_batches(n_batches: int, batch_size: int, src_vocab: int, trg_vocab: int, seed: int) -> list:
    """Bucketed batches whose lengths follow Multi30k (incl. <sos>/<eos>: src ~ 14, trg ~ 15 tokens)."""
    rng = random.Random(seed)
    n = 29_000  # one Multi30k epoch, sorted by length as the bucket iterator does
    pairs = []
    for _ in range(n):
        trg_len = min(45, max(5, round(rng.gauss(15.0, 4.5))))
        src_len = min(45, max(4, round(rng.gauss(trg_len - 1.0, 2.5))))
        pairs.append((src_len, trg_len))
    pairs.sort()
    chunks = [pairs[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    step = len(chunks) / n_batches  # evenly spread over the length range, from short to long
    chunks = [chunks[int((i + 0.5) * step)] for i in range(n_batches)]
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for chunk in chunks:
        src_lengths = torch.tensor([s for s, _ in chunk])
        trg_lengths = torch.tensor([t for _, t in chunk])
        src = _fill(src_lengths, src_vocab, gen)
        trg = _fill(trg_lengths, trg_vocab, gen)
        batches.append(Batch((src, src_lengths, trg, trg_lengths)))
    return batches


def _fill(lengths: torch.Tensor, vocab: int, gen: torch.Generator) -> torch.Tensor:
    """(max_len, B) random ids wrapped in <sos> ... <eos>, padded with <pad>."""
    ids = torch.randint(4, vocab, (int(lengths.max()), len(lengths)), generator=gen)
    rows = torch.arange(ids.shape[0])[:, None]  # (L, 1)
    ids[0] = SOS
    ids[rows == (lengths - 1)[None]] = EOS
    ids[rows >= lengths[None]] = PAD
    return ids


def real_batches(n_batches: int, seed: int) -> tuple[list, int, int]:
    """The first training batches of Multi30k (needs the data files and seq2seq_lib.prepare)."""
    from seq2seq_lib.prepare import prepare_data

    prepared = prepare_data("full")
    iterator = prepared.iterator("train", seed=seed)
    batches = [batch for _, batch in zip(range(n_batches), iterator)]
    return batches, len(prepared.src_field.vocab), len(prepared.trg_field.vocab)


def check_same_loss(model: nn.Module, batches: list, device: torch.device) -> None:
    """Assert that in fp32 the textbook and engine losses and gradients agree at ratios 0 and 1."""
    # Training mode (cuDNN only backpropagates through RNNs in it) with every dropout at 0,
    # so both see the same network; TF32 off so CUDA compares true fp32.
    model = copy.deepcopy(model).to(device).train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        elif isinstance(module, nn.RNNBase):
            module.dropout = 0.0
    tf32, torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.allow_tf32, False
    for ratio in (0.0, 1.0):
        for batch in batches[:2]:
            src, trg, lengths = batch.src.to(device), batch.trg.to(device), batch.src_lengths
            grads = []
            for compute in (type(model).loss, engine.loss):
                model.zero_grad()
                loss, _ = compute(model, src, trg, ratio, lengths)
                loss.backward()
                grads.append((loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()])))
            (textbook, g_textbook), (fast, g_fast) = grads
            assert abs(textbook - fast) <= 1e-5 * abs(textbook), f"ratio {ratio}: loss {textbook} != {fast}"
            torch.testing.assert_close(g_fast, g_textbook, rtol=1e-3, atol=1e-6,
                                       msg=lambda m, r=ratio: f"ratio {r}: gradients differ: {m}")
    torch.backends.cudnn.allow_tf32 = tf32
    print("check: textbook and engine losses and gradients agree in fp32 at ratios 0 and 1")


def timed_step(model, optimizer, batch, options: StepOptions) -> tuple[float, int]:
    """Seconds for one training step and the number of target tokens it trained on."""
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    if options.device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    _, tokens = train_step(model, batch, optimizer, options, criterion)
    if options.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - began, tokens


def time_both(model, batches, device, precision, ratio, repeats, lr=1e-3) -> dict:
    """Per batch, the fastest of `repeats` steps of each kind, summed over the batches.

    Textbook and engine steps alternate batch by batch, so both see the same machine load;
    a first untimed pass warms up oneDNN/cuDNN kernels for every shape.
    """
    runs = {}
    for name, fast in (("textbook", False), ("engine", True)):
        net = copy.deepcopy(model).to(device).train()
        options = StepOptions(device, 1.0, ratio, precision, fast, make_scaler(device, precision))
        runs[name] = (options, net, make_optimizer(net, lr, fast), [[] for _ in batches])
    torch.manual_seed(0)
    tokens = [0] * len(batches)
    for repeat in range(repeats + 1):
        for index, batch in enumerate(batches):
            for options, net, optimizer, seconds in runs.values():
                took, tokens[index] = timed_step(net, optimizer, batch, options)
                if repeat:
                    seconds[index].append(took)
    result = {name: sum(min(s) for s in seconds) for name, (_, _, _, seconds) in runs.items()}
    return result | {"tokens": sum(tokens)}


def selected_modes(spec: str) -> tuple[list[tuple[str, torch.device, str]], dict[str, str]]:
    """'cpu-fp32,cuda-bf16' -> ((mode, device, precision) per mode that runs here, {mode: why not})."""
    modes, unavailable = [], {}
    for mode in spec.split(","):
        kind, precision = mode.split("-")
        if kind == "cuda" and not torch.cuda.is_available():
            unavailable[mode] = "no CUDA GPU"
            continue
        try:
            modes.append((mode, torch.device(kind), resolve_precision(precision, kind)))
        except PrecisionUnavailableError as error:
            unavailable[mode] = str(error)
    for mode, why in unavailable.items():
        print(f"{mode}: unavailable ({why})")
    return modes, unavailable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="distinct batches per pass")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per batch (the fastest counts)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--ratio", type=float, default=0.5, help="teacher forcing ratio while timing")
    parser.add_argument("--src-vocab", type=int, default=7853)
    parser.add_argument("--trg-vocab", type=int, default=5893)
    parser.add_argument("--emb-dim", type=int, default=256)
    parser.add_argument("--hidden-dim", type=int, default=512)
    parser.add_argument("--modes", default="cpu-fp32,cpu-bf16,cuda-fp32,cuda-bf16",
                        help="device-precision pairs; CUDA ones are skipped without a GPU")
    parser.add_argument("--real", action="store_true", help="use real Multi30k batches")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--cell-steps", type=int, default=None,
                        help="decoder runs of up to N steps go through the LSTM cell function "
                             "instead of one LSTM call (default: cells.CELL_STEPS_MAX)")
    args = parser.parse_args()
    if args.cell_steps is not None:
        if args.cell_steps < 0:
            parser.error(f"--cell-steps must be >= 0, got {args.cell_steps}")
        cells.CELL_STEPS_MAX.update(cpu=args.cell_steps, cuda=args.cell_steps, mps=args.cell_steps)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.real:
        batches, args.src_vocab, args.trg_vocab = real_batches(args.batches, args.seed)
    else:
        batches = synthetic_batches(args.batches, args.batch_size, args.src_vocab, args.trg_vocab, args.seed)
    config = ModelConfig(emb_dim=args.emb_dim, hidden_dim=args.hidden_dim)
    torch.manual_seed(args.seed)
    model = build_model(config, args.src_vocab, args.trg_vocab)
    src_len = statistics.mean(float(b.src_lengths.float().mean()) for b in batches)
    trg_len = statistics.mean(float(b.trg_lengths.float().mean()) for b in batches)
    pad = statistics.mean(float((b.trg == PAD).float().mean()) for b in batches)
    print(f"{len(batches)} batches of {args.batch_size}: mean src {src_len:.1f}, trg {trg_len:.1f} tokens, "
          f"trg padding {pad:.1%}; vocab {args.src_vocab}/{args.trg_vocab}; ratio {args.ratio}; "
          f"{torch.get_num_threads()} CPU threads; torch {torch.__version__}")
    check_same_loss(model, batches, torch.device("cpu"))

    results: dict = {"ratio": args.ratio, "batch_size": args.batch_size, "threads": torch.get_num_threads(),
                     "cell_steps_max": dict(cells.CELL_STEPS_MAX)}
    print(f"{'mode':<10} {'textbook tok/s':>15} {'engine tok/s':>13} {'speed-up':>9} "
          f"{'textbook s/batch':>17} {'engine s/batch':>15}")
    modes, results["unavailable"] = selected_modes(args.modes)
    for mode, device, precision in modes:
        if device.type == "cuda":
            check_same_loss(model, batches, device)
        timing = time_both(model, batches, device, precision, args.ratio, args.repeats)
        textbook_s, engine_s, tokens = timing["textbook"], timing["engine"], timing["tokens"]
        textbook_tps, engine_tps = tokens / textbook_s, tokens / engine_s
        results[mode] = {"textbook_tokens_per_s": round(textbook_tps), "engine_tokens_per_s": round(engine_tps),
                         "speedup": round(engine_tps / textbook_tps, 2),
                         "engine_s_per_batch": round(engine_s / len(batches), 4),
                         "textbook_s_per_batch": round(textbook_s / len(batches), 4)}
        print(f"{mode:<10} {textbook_tps:>15,.0f} {engine_tps:>13,.0f} {engine_tps / textbook_tps:>8.2f}x "
              f"{textbook_s / len(batches):>17.3f} {engine_s / len(batches):>15.3f}")
    n_batches = -(-29_000 // args.batch_size)  # one Multi30k training epoch
    for mode in [m for m in results if "-" in str(m)]:
        fast, textbook = results[mode]["engine_s_per_batch"], results[mode]["textbook_s_per_batch"]
        print(f"{mode}: a Multi30k training epoch ({n_batches} batches of {args.batch_size}) takes about "
              f"{n_batches * fast:.0f} s with the engine, {n_batches * textbook:.0f} s with the textbook step")
    if "cpu-fp32" in results:
        base = results["cpu-fp32"]["textbook_tokens_per_s"]
        best = max(results[m]["engine_tokens_per_s"] for m in results if str(m).startswith("cpu-"))
        results["cpu_best_engine_vs_textbook_fp32"] = round(best / base, 2)
        print(f"fastest CPU engine mode vs the textbook step in fp32: {best / base:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

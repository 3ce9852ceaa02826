"""Training throughput: the library's step vs. a naive step written the classic way.

The naive step runs the decoder one time step at a time, each step one call of the LSTM module
on a length-1 sequence as the classic tutorials write it, projects every step onto the whole
vocabulary into a zero-filled (T, B, V) buffer and scores outputs[1:] against trg[1:]. The
library's step (`train.train_step` -> `Seq2Seq.loss`) runs stretches of teacher-forced steps in
one RNN call and projects only non-pad rows, in chunks, with the gradient fused into the loss.

Both get the same model weights, the same batches, Adam with the same settings (the library
uses its fused form, `train.make_optimizer`; the naive step the classic `optim.Adam`) and the
same device. Before timing, the two losses and gradients are checked equal in fp32 at teacher
forcing ratios 0 and 1.
Prints target tokens/s per mode and the ratios; the last line is one JSON object.

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
import torch.nn.functional as F
from torch import nn

from seq2seq_lib import rnn_step
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.precision import PrecisionUnavailableError, autocast, resolve_precision
from seq2seq_lib.train import make_optimizer, train_step

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


def _classic_dropout(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torch's own dropout with the model's probability, as an nn.Dropout layer applies it."""
    return F.dropout(x, module.p, module.training)


def classic_encoder(encoder: nn.Module, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classic encoder forward on the library's modules: src (S, B) -> hidden, cell (L, B, H)."""
    embedded = _classic_dropout(encoder.dropout, encoder.embedding(src))  # (S, B, E)
    _, (hidden, cell) = encoder.rnn(embedded)
    return hidden, cell


def classic_decoder_step(decoder: nn.Module, input: torch.Tensor, hidden: torch.Tensor, cell: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The classic one-step decoder forward: one RNN call on a length-1 sequence, then the projection."""
    embedded = _classic_dropout(decoder.dropout, decoder.embedding(input.unsqueeze(0)))  # (1, B, E)
    output, (hidden, cell) = decoder.rnn(embedded, (hidden, cell))  # (1, B, H)
    return decoder.fc_out(output.squeeze(0)), hidden, cell  # (B, V)


def naive_loss(model: nn.Module, src: torch.Tensor, trg: torch.Tensor, ratio: float,
               criterion: nn.Module) -> torch.Tensor:
    """The classic forward: one decoder call and one full projection per step, then the loss."""
    max_len, batch_size = trg.shape
    vocab_size = model.decoder.vocab_size
    outputs = torch.zeros(max_len, batch_size, vocab_size, device=src.device)  # (T, B, V)
    hidden, cell = classic_encoder(model.encoder, src)
    input = trg[0, :]
    for t in range(1, max_len):
        output, hidden, cell = classic_decoder_step(model.decoder, input, hidden, cell)  # (B, V)
        outputs[t] = output
        teacher_force = random.random() < ratio
        top1 = output.argmax(1)
        input = trg[t] if teacher_force else top1
    return criterion(outputs[1:].view(-1, vocab_size), trg[1:].view(-1))


def naive_step(model, batch, optimizer, criterion, clip, ratio, device, precision="fp32", scaler=None):
    """The classic training step around `naive_loss`."""
    src, trg = batch.src.to(device), batch.trg.to(device)
    optimizer.zero_grad()
    with autocast(device, precision):
        loss = naive_loss(model, src, trg, ratio, criterion)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), int((trg[1:] != PAD).sum())


def check_same_loss(model: nn.Module, batches: list, criterion: nn.Module, device: torch.device) -> None:
    """Assert that in fp32 the naive and library losses and gradients agree at ratios 0 and 1."""
    # Training mode (cuDNN only backpropagates through RNNs in it) with every dropout at 0,
    # so both steps see the same network; TF32 off so CUDA compares true fp32.
    model = copy.deepcopy(model).to(device).train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        elif isinstance(module, nn.RNNBase):
            module.dropout = 0.0
    tf32, torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.allow_tf32, False
    for ratio in (0.0, 1.0):
        for batch in batches[:2]:
            src, trg = batch.src.to(device), batch.trg.to(device)
            grads = []
            for which in ("naive", "library"):
                model.zero_grad()
                if which == "naive":
                    loss = naive_loss(model, src, trg, ratio, criterion)
                else:  # no src_lengths: the naive encoder also reads the padding
                    loss, _ = model.loss(src, trg, ratio, None, criterion)
                loss.backward()
                grads.append((loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()])))
            (naive, g_naive), (library, g_library) = grads
            assert abs(naive - library) <= 1e-5 * abs(naive), f"ratio {ratio}: loss {naive} != {library}"
            assert torch.allclose(g_naive, g_library, rtol=1e-3, atol=1e-7), f"ratio {ratio}: gradients differ"
    torch.backends.cudnn.allow_tf32 = tf32
    print("check: naive and library losses and gradients agree in fp32 at ratios 0 and 1")


def timed_step(step, model, optimizer, batch, device, precision, ratio) -> tuple[float, int]:
    """Seconds for one training step and the number of target tokens it trained on."""
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    if device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    _, tokens = step(model, batch, optimizer, criterion, 1.0, ratio, device, precision)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - began, tokens


def time_both(model, batches, device, precision, ratio, repeats, lr=1e-3) -> dict:
    """Per batch, the fastest of `repeats` steps of each kind, summed over the batches.

    Naive and library steps alternate batch by batch, so both see the same machine load;
    a first untimed pass warms up oneDNN/cuDNN kernels for every shape.
    """
    runs = {}
    for name, step in (("naive", naive_step), ("library", train_step)):
        net = copy.deepcopy(model).to(device).train()
        optimizer = torch.optim.Adam(net.parameters(), lr=lr) if name == "naive" else make_optimizer(net, lr)
        runs[name] = (step, net, optimizer, [[] for _ in batches])
    torch.manual_seed(0)
    random.seed(0)
    tokens = [0] * len(batches)
    for repeat in range(repeats + 1):
        for index, batch in enumerate(batches):
            for step, net, optimizer, seconds in runs.values():
                took, tokens[index] = timed_step(step, net, optimizer, batch, device, precision, ratio)
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
                             "instead of one LSTM call (default: rnn_step.CELL_STEPS_MAX)")
    args = parser.parse_args()
    if args.cell_steps is not None:
        if args.cell_steps < 0:
            parser.error(f"--cell-steps must be >= 0, got {args.cell_steps}")
        rnn_step.CELL_STEPS_MAX.update(cpu=args.cell_steps, cuda=args.cell_steps, mps=args.cell_steps)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.real:
        batches, args.src_vocab, args.trg_vocab = real_batches(args.batches, args.seed)
    else:
        batches = synthetic_batches(args.batches, args.batch_size, args.src_vocab, args.trg_vocab, args.seed)
    config = ModelConfig(emb_dim=args.emb_dim, hidden_dim=args.hidden_dim)
    torch.manual_seed(args.seed)
    model = build_model(config, args.src_vocab, args.trg_vocab)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    src_len = statistics.mean(float(b.src_lengths.float().mean()) for b in batches)
    trg_len = statistics.mean(float(b.trg_lengths.float().mean()) for b in batches)
    pad = statistics.mean(float((b.trg == PAD).float().mean()) for b in batches)
    print(f"{len(batches)} batches of {args.batch_size}: mean src {src_len:.1f}, trg {trg_len:.1f} tokens, "
          f"trg padding {pad:.1%}; vocab {args.src_vocab}/{args.trg_vocab}; ratio {args.ratio}; "
          f"{torch.get_num_threads()} CPU threads; torch {torch.__version__}")
    check_same_loss(model, batches, criterion, torch.device("cpu"))

    results: dict = {"ratio": args.ratio, "batch_size": args.batch_size, "threads": torch.get_num_threads(),
                     "cell_steps_max": dict(rnn_step.CELL_STEPS_MAX)}
    print(f"{'mode':<10} {'naive tok/s':>12} {'library tok/s':>14} {'speed-up':>9} "
          f"{'naive s/batch':>14} {'library s/batch':>16}")
    modes, results["unavailable"] = selected_modes(args.modes)
    for mode, device, precision in modes:
        if device.type == "cuda":
            check_same_loss(model, batches, criterion, device)
        timing = time_both(model, batches, device, precision, args.ratio, args.repeats)
        naive_s, library_s, tokens = timing["naive"], timing["library"], timing["tokens"]
        naive_tps, library_tps = tokens / naive_s, tokens / library_s
        results[mode] = {"naive_tokens_per_s": round(naive_tps), "library_tokens_per_s": round(library_tps),
                         "speedup": round(library_tps / naive_tps, 2),
                         "library_s_per_batch": round(library_s / len(batches), 4),
                         "naive_s_per_batch": round(naive_s / len(batches), 4)}
        print(f"{mode:<10} {naive_tps:>12,.0f} {library_tps:>14,.0f} {library_tps / naive_tps:>8.2f}x "
              f"{naive_s / len(batches):>14.3f} {library_s / len(batches):>16.3f}")
    n_batches = -(-29_000 // args.batch_size)  # one Multi30k training epoch
    for mode in [m for m in results if "-" in str(m)]:
        library, naive = results[mode]["library_s_per_batch"], results[mode]["naive_s_per_batch"]
        print(f"{mode}: a Multi30k training epoch ({n_batches} batches of {args.batch_size}) takes about "
              f"{n_batches * library:.0f} s with the library step, {n_batches * naive:.0f} s with the naive one")
    if "cpu-fp32" in results:
        base = results["cpu-fp32"]["naive_tokens_per_s"]
        best = max(results[m]["library_tokens_per_s"] for m in results if str(m).startswith("cpu-"))
        results["cpu_best_library_vs_naive_fp32"] = round(best / base, 2)
        print(f"fastest CPU library mode vs naive fp32: {best / base:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

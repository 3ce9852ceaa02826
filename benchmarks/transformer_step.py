"""The Transformer: training throughput and batched decoding, engine vs textbook.

Training: the textbook step (`Transformer.loss`: attention written out as softmax(QK^T/sqrt(d))V,
every position projected onto the whole vocabulary) against the engine's
(`scaled_dot_product_attention`, the fused loss over non-pad rows, fused Adam), on the same
weights and batches, teacher-forced (ratio 1, how a Transformer trains). Their fp32 losses and
gradients are checked equal first.

Decoding: greedy decoding of the same sentences three ways: the textbook step (the whole prefix
runs again at every step), the engine's cached step, both batched, and the cached step one
sentence at a time. Every sentence decodes exactly `--max-len` tokens (<eos> is never chosen),
so all three do the same number of steps. The last line is one JSON object.

    python benchmarks/transformer_step.py
"""
from __future__ import annotations

import argparse
import copy
import json
import time

import torch
from torch import nn

from seq2seq_lib import fast as engine
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.decode import greedy_decode
from seq2seq_lib.models import build_model
from train_step import EOS, selected_modes, synthetic_batches, time_both


def check_same_loss(model: nn.Module, batches: list) -> None:
    """Assert that with dropout at 0 in fp32 the textbook and engine losses and gradients agree."""
    model = copy.deepcopy(model).train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    for batch in batches[:2]:
        grads = []
        for compute in (type(model).loss, engine.loss):
            model.zero_grad()
            loss, _ = compute(model, batch.src, batch.trg, 1.0, batch.src_lengths)
            loss.backward()
            grads.append((loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()])))
        (textbook, g_textbook), (fast, g_fast) = grads
        assert abs(textbook - fast) <= 1e-5 * abs(textbook), f"loss {textbook} != {fast}"
        # fp32 sums in other orders (fused attention, chunked fused loss) through six layers and a 5,893-way
        # softmax differ by up to 1.6e-4 of the largest gradient entry at these sizes; run in float64 the two
        # agree to 6e-8 of it (the fused loss keeps fp32 accumulators), so the gap is rounding, not maths
        scale = float(g_textbook.abs().max())
        torch.testing.assert_close(g_fast, g_textbook, rtol=1e-3, atol=5e-4 * scale)
        print(f"  largest gradient entry {scale:.3g}, largest difference {float((g_fast - g_textbook).abs().max()):.3g}")
    print("check: textbook and engine losses and gradients agree in fp32")


def never_stop(model: nn.Module) -> nn.Module:
    """A copy whose output bias rules out <eos>, so every sentence decodes to the full length."""
    model = copy.deepcopy(model).eval()
    with torch.no_grad():
        model.decoder.fc_out.bias[EOS] = -1e4
    return model


def time_decoding(model: nn.Module, src: torch.Tensor, max_len: int, single: int) -> dict:
    """Sentences per second: batched textbook, batched cached, and cached one sentence at a time."""
    results = {}
    for name, fast, batch in (("textbook_batched", False, src), ("engine_batched", True, src),
                              ("engine_one_at_a_time", True, src[:, :single])):
        began = time.perf_counter()
        if name.endswith("one_at_a_time"):
            decoded = [greedy_decode(model, batch[:, i:i + 1], max_len=max_len, fast=fast).tokens[0]
                       for i in range(batch.shape[1])]
        else:
            decoded = greedy_decode(model, batch, max_len=max_len, fast=fast).tokens
        seconds = time.perf_counter() - began
        assert all(len(tokens) == max_len for tokens in decoded), "a sentence stopped early"
        results[name] = {"sentences_per_s": round(batch.shape[1] / seconds, 1), "tokens": decoded}
    same = results["engine_batched"]["tokens"] == results["textbook_batched"]["tokens"]
    alone = results["engine_one_at_a_time"]["tokens"] == results["engine_batched"]["tokens"][:single]
    summary = {name: row["sentences_per_s"] for name, row in results.items()}
    return summary | {"engine_equals_textbook": same, "one_at_a_time_equals_batched": alone}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4, help="distinct training batches per pass")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per batch (the fastest counts)")
    parser.add_argument("--modes", default="cpu-fp32,cpu-bf16,cuda-fp32,cuda-bf16",
                        help="device-precision pairs for training; CUDA ones are skipped without a GPU")
    parser.add_argument("--emb-dim", type=int, default=256, help="d_model")
    parser.add_argument("--hidden-dim", type=int, default=1024, help="feed-forward width")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--src-vocab", type=int, default=7853)
    parser.add_argument("--trg-vocab", type=int, default=5893)
    parser.add_argument("--sentences", type=int, default=128, help="sentences to decode in a batch")
    parser.add_argument("--single", type=int, default=16, help="of those, decoded one at a time")
    parser.add_argument("--max-len", type=int, default=20, help="tokens decoded per sentence")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    if min(args.batches, args.repeats, args.sentences, args.single, args.max_len) < 1 or args.single > args.sentences:
        parser.error("--batches, --repeats, --sentences, --single and --max-len must be >= 1, --single <= --sentences")
    if args.threads:
        torch.set_num_threads(args.threads)

    batches = synthetic_batches(args.batches, args.batch_size, args.src_vocab, args.trg_vocab, args.seed)
    config = ModelConfig(transformer=True, emb_dim=args.emb_dim, hidden_dim=args.hidden_dim, n_layers=args.layers,
                         n_heads=args.heads, dropout=0.1)
    torch.manual_seed(args.seed)
    model = build_model(config, args.src_vocab, args.trg_vocab)
    print(f"Transformer d_model {args.emb_dim}, ff {args.hidden_dim}, {args.layers}+{args.layers} layers, "
          f"{args.heads} heads; {len(batches)} batches of {args.batch_size}; {torch.get_num_threads()} CPU "
          f"threads; torch {torch.__version__}")
    check_same_loss(model, batches)
    results: dict = {"model": "transformer", "batch_size": args.batch_size, "threads": torch.get_num_threads()}
    modes, results["unavailable"] = selected_modes(args.modes)
    for mode, device, precision in modes:
        timing = time_both(model, batches, device, precision, 1.0, args.repeats)
        textbook_tps, engine_tps = timing["tokens"] / timing["textbook"], timing["tokens"] / timing["engine"]
        results[mode] = {"textbook_tokens_per_s": round(textbook_tps), "engine_tokens_per_s": round(engine_tps),
                         "speedup": round(engine_tps / textbook_tps, 2)}
        print(f"train {mode:<10} textbook {textbook_tps:>8,.0f} tok/s  engine {engine_tps:>8,.0f} tok/s  "
              f"{engine_tps / textbook_tps:.2f}x")
    src = batches[len(batches) // 2].src[:, :args.sentences]
    decoding = time_decoding(never_stop(model), src, args.max_len, args.single)
    results["greedy_cpu_fp32"] = decoding
    print(f"greedy, {src.shape[1]} sentences x {args.max_len} tokens, CPU fp32: textbook batched "
          f"{decoding['textbook_batched']:,.1f} sent/s, engine batched {decoding['engine_batched']:,.1f} sent/s "
          f"({decoding['engine_batched'] / decoding['textbook_batched']:.2f}x), engine one at a time "
          f"{decoding['engine_one_at_a_time']:,.1f} sent/s (batched {decoding['engine_batched'] / decoding['engine_one_at_a_time']:.1f}x); "
          f"same tokens: {decoding['engine_equals_textbook']} / {decoding['one_at_a_time_equals_batched']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

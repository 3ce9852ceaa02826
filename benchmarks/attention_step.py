"""Training throughput of the attention model: the engine's step vs. the textbook's, per mode.

The attention decoder runs one time step at a time in both (each step attends with the previous
hidden state), so the engine gains less here than on the classic model: cell steps instead of
module calls, the fused loss over non-pad rows, faster dropout masks and fused Adam. Same
synthetic batches and the same timing as benchmarks/train_step.py.

    python benchmarks/attention_step.py
"""
from __future__ import annotations

import argparse
import json

import torch

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from train_step import selected_modes, synthetic_batches, time_both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4, help="distinct batches per pass")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per batch (the fastest counts)")
    parser.add_argument("--ratio", type=float, default=0.5, help="teacher forcing ratio while timing")
    parser.add_argument("--modes", default="cpu-fp32,cpu-bf16,cuda-fp32,cuda-bf16",
                        help="device-precision pairs; CUDA ones are skipped without a GPU")
    parser.add_argument("--emb-dim", type=int, default=256)
    parser.add_argument("--hidden-dim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    if args.batches < 1 or args.repeats < 1:
        parser.error("--batches and --repeats must be at least 1")

    src_vocab, trg_vocab = 7853, 5893
    batches = synthetic_batches(args.batches, args.batch_size, src_vocab, trg_vocab, args.seed)
    torch.manual_seed(args.seed)
    config = ModelConfig(emb_dim=args.emb_dim, hidden_dim=args.hidden_dim, attention=True)
    model = build_model(config, src_vocab, trg_vocab)
    results: dict = {"model": "attention", "batch_size": args.batch_size, "ratio": args.ratio,
                     "threads": torch.get_num_threads()}
    print(f"{len(batches)} batches of {args.batch_size}, ratio {args.ratio}, "
          f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}")
    modes, results["unavailable"] = selected_modes(args.modes)
    for mode, device, precision in modes:  # every mode starts from the same weights
        timing = time_both(model, batches, device, precision, args.ratio, args.repeats)
        textbook_tps, engine_tps = timing["tokens"] / timing["textbook"], timing["tokens"] / timing["engine"]
        results[mode] = {"textbook_tokens_per_s": round(textbook_tps), "engine_tokens_per_s": round(engine_tps),
                         "speedup": round(engine_tps / textbook_tps, 2)}
        print(f"{mode:<10} textbook {textbook_tps:>8,.0f} tok/s  engine {engine_tps:>8,.0f} tok/s  "
              f"{engine_tps / textbook_tps:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

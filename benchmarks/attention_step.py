"""Training throughput of the attention model's library step, per device and precision.

The attention decoder runs one time step at a time in every mode (each step attends with the
previous hidden state), so it has no naive counterpart to compare with here; this script
reports its target tokens per second, to compare one version of the library with another on
the same machine. Same synthetic batches as benchmarks/train_step.py.

    python benchmarks/attention_step.py
"""
from __future__ import annotations

import argparse
import copy
import json
import random

import torch

from seq2seq_lib.attention import build_attention_model
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.train import make_optimizer, train_step
from train_step import selected_modes, synthetic_batches, timed_step


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
    model = build_attention_model(config, src_vocab, trg_vocab)
    results: dict = {"model": "attention", "batch_size": args.batch_size, "ratio": args.ratio,
                     "threads": torch.get_num_threads()}
    print(f"{len(batches)} batches of {args.batch_size}, ratio {args.ratio}, "
          f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}")
    modes, results["unavailable"] = selected_modes(args.modes)
    for mode, device, precision in modes:
        net = copy.deepcopy(model).to(device).train()  # every mode starts from the same weights
        optimizer = make_optimizer(net, 1e-3)
        torch.manual_seed(0)
        random.seed(0)
        best, tokens = [float("inf")] * len(batches), [0] * len(batches)
        for repeat in range(args.repeats + 1):  # the first pass warms up kernels for every shape
            for index, batch in enumerate(batches):
                took, tokens[index] = timed_step(train_step, net, optimizer, batch, device, precision, args.ratio)
                if repeat:
                    best[index] = min(best[index], took)
        results[mode] = {"tokens_per_s": round(sum(tokens) / sum(best)),
                         "s_per_batch": round(sum(best) / len(batches), 4)}
        print(f"{mode:<10} {results[mode]['tokens_per_s']:>8,} tok/s  {results[mode]['s_per_batch']:.3f} s/batch")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

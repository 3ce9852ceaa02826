"""The benchmark scripts still run and end with one JSON line (tiny settings: this checks them, not speed)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq_lib.precision import bf16_support

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script: str, *args: str, data_dir: Path | None = None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if data_dir is not None:
        env["SEQ2SEQ_DATA_DIR"] = str(data_dir)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_train_step_benchmark_checks_both_steps_and_reports_ratios():
    summary = run_benchmark("train_step.py", "--batches", "2", "--repeats", "1", "--batch-size", "8",
                            "--modes", "cpu-fp32", "--emb-dim", "8", "--hidden-dim", "16",
                            "--src-vocab", "40", "--trg-vocab", "50", "--threads", "1")
    row = summary["cpu-fp32"]
    assert row["textbook_tokens_per_s"] > 0 and row["engine_tokens_per_s"] > 0
    assert row["speedup"] == pytest.approx(row["engine_tokens_per_s"] / row["textbook_tokens_per_s"], rel=0.01)


def test_train_step_benchmark_takes_a_cell_step_limit():
    summary = run_benchmark("train_step.py", "--batches", "1", "--repeats", "1", "--batch-size", "4",
                            "--modes", "cpu-fp32", "--emb-dim", "8", "--hidden-dim", "16",
                            "--src-vocab", "40", "--trg-vocab", "50", "--threads", "1", "--cell-steps", "0")
    assert summary["cell_steps_max"]["cpu"] == 0 and summary["cpu-fp32"]["engine_tokens_per_s"] > 0


def test_attention_benchmark_reports_tokens_per_second():
    summary = run_benchmark("attention_step.py", "--batches", "1", "--repeats", "1", "--batch-size", "4",
                            "--modes", "cpu-fp32,cpu-bf16", "--emb-dim", "8", "--hidden-dim", "16")
    assert summary["model"] == "attention" and summary["cpu-fp32"]["engine_tokens_per_s"] > 0
    if bf16_support("cpu") is None:
        assert summary["cpu-bf16"]["textbook_tokens_per_s"] > 0 and "cpu-bf16" not in summary["unavailable"]
    else:  # an AVX2 CPU: the mode is reported as unavailable, with the reason, and fp32 still ran
        assert "cpu-bf16" not in summary and "bf16" in summary["unavailable"]["cpu-bf16"]


@pytest.mark.multi30k
def test_decode_benchmark_compares_batched_with_one_at_a_time(multi30k_dir):
    summary = run_benchmark("decode.py", "--subset", "3", "--beams", "1", "--max-len", "3", "--threads", "1",
                            data_dir=multi30k_dir)
    ran = {"fp32", "bf16"} if bf16_support("cpu") is None else {"fp32"}
    assert summary["sentences"] == 1000 and set(summary["greedy_batched_speedup"]) == ran
    assert set(summary["unavailable"]) == {"fp32", "bf16"} - ran
    assert summary["batched_equals_single"]["fp32"] == "3/3"
    assert summary["beam1_equals_greedy"] == "1000/1000"


def test_transformer_benchmark_reports_training_and_decoding():
    summary = run_benchmark("transformer_step.py", "--batches", "1", "--repeats", "1", "--batch-size", "8",
                            "--modes", "cpu-fp32", "--emb-dim", "16", "--hidden-dim", "32", "--layers", "1",
                            "--heads", "2", "--src-vocab", "40", "--trg-vocab", "50", "--sentences", "6",
                            "--single", "2", "--max-len", "4", "--threads", "1")
    assert summary["model"] == "transformer" and summary["cpu-fp32"]["engine_tokens_per_s"] > 0
    decoding = summary["greedy_cpu_fp32"]
    assert decoding["engine_equals_textbook"] and decoding["one_at_a_time_equals_batched"]
    assert decoding["engine_batched"] > 0 and decoding["textbook_batched"] > 0

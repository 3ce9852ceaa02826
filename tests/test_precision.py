"""Precision: bf16 is decided by trying it, 'auto' picks only what runs (and is faster), errors name the fix."""
import os
import subprocess
import sys

import pytest
import torch

from seq2seq_lib import precision
from seq2seq_lib.precision import PrecisionUnavailableError, autocast, bf16_support, resolve_precision
from seq2seq_lib.utils import DeviceError

AVX2_LAPTOP = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def run_python(code: str, env: dict) -> str:
    """Run `code` in a fresh interpreter (the bf16 probe is cached per process) and return its stdout."""
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_probe_agrees_with_a_real_bf16_lstm_step():
    lstm = torch.nn.LSTM(8, 8, num_layers=2)
    inputs = torch.randn(5, 3, 8, requires_grad=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            outputs, _ = lstm(inputs)
        outputs.float().sum().backward()
        runs = True
    except RuntimeError:
        runs = False
    assert (bf16_support("cpu") is None) == runs


def test_the_probe_does_not_move_the_callers_random_numbers():
    precision._bf16_probe.cache_clear()
    torch.manual_seed(0)
    bf16_support("cpu")
    after_probe = torch.rand(3)
    torch.manual_seed(0)
    torch.testing.assert_close(after_probe, torch.rand(3), rtol=0, atol=0)


def test_on_an_avx2_cpu_auto_is_fp32_and_bf16_fails_with_the_fix():
    code = ("from seq2seq_lib.precision import resolve_precision, bf16_support\n"
            "print(resolve_precision('auto', 'cpu'))\n"
            "print(bf16_support('cpu') is not None)\n"
            "try:\n    resolve_precision('bf16', 'cpu')\nexcept ValueError as error:\n    print(error)\n")
    auto, unavailable, message = run_python(code, AVX2_LAPTOP).splitlines()
    assert auto == "fp32" and unavailable == "True"
    assert "AVX-512 BF16 or AMX" in message and "use 'fp32'" in message


@pytest.mark.cpu_bf16
def test_where_bf16_runs_natively_auto_picks_it():
    if not precision._native_bf16_cpu():
        pytest.skip("bf16 runs here only emulated, so 'auto' keeps fp32")
    assert resolve_precision("auto", "cpu") == "bf16" and resolve_precision("bf16", "cpu") == "bf16"


def test_an_instruction_set_limit_without_bf16_counts_as_no_native_bf16(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
    assert not precision._native_bf16_cpu()


def test_auto_never_picks_a_lower_precision_on_gpus_or_mps():
    assert resolve_precision("auto", "mps") == "fp32"
    if torch.cuda.is_available():
        assert resolve_precision("auto", "cuda") == "fp32"


def test_bad_precisions_name_the_fix():
    with pytest.raises(PrecisionUnavailableError, match="fp16.*needs a CUDA GPU.*fp32"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, fp16"):
        resolve_precision("int8", "cpu")
    with pytest.raises(ValueError, match="resolve_precision first"):
        autocast("cpu", "auto")
    with pytest.raises(PrecisionUnavailableError, match="only on CPU and CUDA"):
        resolve_precision("bf16", "mps")


def test_tf32_is_scoped_to_the_block():
    from seq2seq_lib.precision import tf32_matmuls

    before = torch.backends.cuda.matmul.allow_tf32
    with tf32_matmuls("cuda"):  # only sets a flag: runs without a GPU
        assert torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cuda.matmul.allow_tf32 == before
    with tf32_matmuls("cpu"):
        assert torch.backends.cuda.matmul.allow_tf32 == before


def test_on_an_avx2_cpu_the_command_line_refuses_bf16_before_writing_anything(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "seq2seq_lib", "train", "--sample", "--profile", "ci",
                           "--precision", "bf16", "--out", str(out)], env={**os.environ, **AVX2_LAPTOP},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "bf16' cannot run here" in done.stderr and "use --precision fp32" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


@pytest.mark.parametrize("call", [lambda: resolve_precision("auto", "gpu"), lambda: precision.bf16_support("gpu"),
                                  lambda: precision.autocast("gpu", "fp32")], ids=["resolve", "bf16_support", "autocast"])
def test_a_misspelt_device_names_the_fix(call):
    with pytest.raises(DeviceError, match="Unknown device 'gpu'.*device='cpu'"):
        call()


def test_bf16_on_cuda_without_a_gpu_says_there_is_no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    precision._bf16_probe.cache_clear()
    with pytest.raises(PrecisionUnavailableError, match="this machine has no CUDA GPU"):
        resolve_precision("bf16", "cuda")
    precision._bf16_probe.cache_clear()

"""fast.gemm: oneDNN's fp32 matrix products give torch's values and gradients, and step aside where they cannot run."""
import platform
from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as F

from seq2seq_lib.fast import gemm
from seq2seq_lib.fast.cells import gru_cell, lstm_cell
from tolerance import FP32

X86_ONEDNN = platform.machine().lower() in ("x86_64", "amd64") and torch.backends.mkldnn.is_available()


@contextmanager
def onednn_enabled(on: bool):
    """torch.backends.mkldnn.enabled set inside (its `flags` context also warns about Intel-GPU TF32)."""
    before, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, on
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def test_the_onednn_path_is_taken_on_x86_builds_with_onednn():
    """Where this test runs on x86 (CI does), the equality tests below exercise oneDNN, not the fallback."""
    assert gemm.usable(torch.ones(2, 2)) == X86_ONEDNN


def test_usable_only_for_fp32_cpu_tensors_without_autocast_and_with_onednn_on():
    x = torch.ones(2, 2)
    assert not gemm.usable(x.bfloat16())
    assert not gemm.usable(x, x.double())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not gemm.usable(x)
    with onednn_enabled(False):
        assert not gemm.usable(x)


def _linear_and_grads(compute, x, weight, bias):
    for t in (x, weight, bias):
        if t is not None:
            t.grad = None
    out = compute(x, weight, bias)
    (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
    return out.detach(), [None if t is None else t.grad.clone() for t in (x, weight, bias)]


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("onednn", [True, False])
def test_linear_equals_f_linear_in_value_and_gradients(with_bias, transposed, onednn):
    torch.manual_seed(0)
    x = torch.randn(9, 7).t().contiguous().t() if transposed else torch.randn(7, 9)[:, :7].contiguous()
    x = x.detach().requires_grad_()
    weight = torch.randn(5, x.shape[1], requires_grad=True)
    bias = torch.randn(5, requires_grad=True) if with_bias else None
    want, want_grads = _linear_and_grads(F.linear, x, weight, bias)
    with onednn_enabled(onednn):
        got, got_grads = _linear_and_grads(gemm.linear, x, weight, bias)
    torch.testing.assert_close(got, want, **FP32)
    for g, w in zip(got_grads, want_grads):
        if w is None:
            assert g is None
        else:
            torch.testing.assert_close(g, w, **FP32)


def test_linear_without_autograd_and_on_frozen_weights():
    torch.manual_seed(0)
    x, weight = torch.randn(4, 3, requires_grad=True), torch.randn(6, 3)
    with torch.no_grad():
        torch.testing.assert_close(gemm.linear(x, weight), F.linear(x, weight), **FP32)
    gemm.linear(x, weight).sum().backward()  # only x needs a gradient
    torch.testing.assert_close(x.grad, weight.sum(0).expand(4, 3), **FP32)


@pytest.mark.parametrize("onednn", [True, False])
def test_matmul_reads_transposed_views(onednn):
    torch.manual_seed(0)
    a, b = torch.randn(6, 4), torch.randn(5, 6)
    with onednn_enabled(onednn):
        torch.testing.assert_close(gemm.matmul(a.t(), b.t()), a.t() @ b.t(), **FP32)
        torch.testing.assert_close(gemm.matmul(a.t(), b.t()[:, :3]), a.t() @ b.t()[:, :3], **FP32)


@pytest.mark.parametrize("call, shapes", [
    (gemm.matmul, [(2, 3), (4, 5)]),
    (gemm.matmul, [(2, 3, 1), (3, 5)]),
    (gemm.linear, [(2, 3), (5, 4)]),
    (gemm.linear, [(1, 2, 3), (5, 3)]),
])
def test_mismatched_shapes_are_refused_with_the_shapes_named(call, shapes):
    with pytest.raises(ValueError, match=r"got \("):
        call(*(torch.ones(shape) for shape in shapes))


@pytest.mark.parametrize("onednn", [True, False])
def test_cells_equal_torch_cells_in_value_and_gradients(onednn):
    torch.manual_seed(0)
    batch, in_dim, hidden = 3, 4, 5
    x, h, c = (torch.randn(batch, d, requires_grad=True) for d in (in_dim, hidden, hidden))
    lstm = [torch.randn(4 * hidden, in_dim), torch.randn(4 * hidden, hidden), torch.randn(4 * hidden),
            torch.randn(4 * hidden)]
    gru = [torch.randn(3 * hidden, in_dim), torch.randn(3 * hidden, hidden), torch.randn(3 * hidden),
           torch.randn(3 * hidden)]
    for w in lstm + gru:
        w.requires_grad_()
    inputs = [x, h, c, *lstm, *gru]

    def run(lstm_step, gru_step):
        for t in inputs:
            t.grad = None
        new_h, new_c = lstm_step(x, (h, c), *lstm)
        gru_h = gru_step(x, h, *gru)
        (new_h.sum() + 2 * new_c.sum() + 3 * gru_h.sum()).backward()
        return [new_h.detach(), new_c.detach(), gru_h.detach()] + [t.grad.clone() for t in inputs]

    want = run(torch.lstm_cell, torch.gru_cell)
    with onednn_enabled(onednn):
        got = run(lstm_cell, gru_cell)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **FP32)

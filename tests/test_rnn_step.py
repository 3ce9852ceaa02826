"""rnn_step / run_rnn: the cell-function path gives what one call of the module gives."""
import pytest
import torch
from torch import nn

from seq2seq_lib.fast.cells import rnn_step, run_rnn, supports_cell_step
from tolerance import FP32, FP32_DEEP


def _rnn_and_state(kind, layers, batch=5, in_dim=6, hidden=7, bias=True, seed=0):
    torch.manual_seed(seed)
    rnn = kind(in_dim, hidden, layers, bias=bias, dropout=0.4 if layers > 1 else 0.0)
    h = torch.randn(layers, batch, hidden)
    state = (h, torch.randn(layers, batch, hidden)) if kind is nn.LSTM else h
    return rnn, state


def _flat(state):
    return torch.cat([s.flatten() for s in state]) if isinstance(state, tuple) else state.flatten()


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_step_equals_one_module_call(kind, layers, bias):
    rnn, state = _rnn_and_state(kind, layers, bias=bias)
    rnn.eval()
    x = torch.randn(5, 6)
    expected, expected_state = rnn(x[None], state)
    output, new_state = rnn_step(rnn, x, state)
    assert output.shape == (5, 7)
    torch.testing.assert_close(output, expected[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(_flat(new_state), _flat(expected_state), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_rnn_step_gradients_equal_the_module_call(kind):
    rnn, state = _rnn_and_state(kind, 2)
    rnn.dropout = 0.0  # training mode without randomness, so both paths see one network
    x = torch.randn(5, 6, requires_grad=True)
    grads = []
    for path in ("module", "cells"):
        rnn.zero_grad()
        x.grad = None
        output = rnn(x[None], state)[0][0] if path == "module" else rnn_step(rnn, x, state)[0]
        (output * torch.linspace(-1, 1, 7)).sum().backward()
        grads.append(torch.cat([x.grad.flatten()] + [p.grad.flatten() for p in rnn.parameters()]))
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)


def _step_output(rnn, x, state, training, seed=0):
    rnn.train(training)
    torch.manual_seed(seed)
    return rnn_step(rnn, x, state)[0]


def test_rnn_step_applies_dropout_between_layers_only_in_training():
    rnn, state = _rnn_and_state(nn.LSTM, 2)
    x = torch.randn(5, 6)
    clean = _step_output(rnn, x, state, training=False)
    first, again = (_step_output(rnn, x, state, training=True, seed=1) for _ in range(2))
    other = _step_output(rnn, x, state, training=True, seed=2)
    assert not torch.allclose(first, clean)  # the dropout mask changed the second layer's input
    torch.testing.assert_close(first, again, rtol=0, atol=0)  # same seed, same mask, same kernels
    assert not torch.allclose(first, other)


def test_rnn_step_with_one_layer_ignores_training_mode():
    rnn, state = _rnn_and_state(nn.LSTM, 1)
    x = torch.randn(5, 6)
    torch.testing.assert_close(_step_output(rnn, x, state, training=True),
                               _step_output(rnn, x, state, training=False), **FP32)


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("limit", [0, 1, 2, 10])
@pytest.mark.parametrize("steps", [1, 2, 4])
def test_run_rnn_equals_the_module_for_any_limit(kind, limit, steps):
    rnn, state = _rnn_and_state(kind, 2)
    rnn.eval()
    inputs = torch.randn(steps, 5, 6)
    expected, expected_state = rnn(inputs, state)
    outputs, new_state = run_rnn(rnn, inputs, state, cell_steps_max=limit)
    assert outputs.shape == expected.shape == (steps, 5, 7)
    torch.testing.assert_close(outputs, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(_flat(new_state), _flat(expected_state), rtol=1e-5, atol=1e-6)


def test_run_rnn_under_bf16_autocast_stays_close_to_fp32():
    rnn, state = _rnn_and_state(nn.LSTM, 2)
    rnn.eval()
    inputs = torch.randn(3, 5, 6)
    expected, _ = rnn(inputs, state)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs, (hidden, cell) = run_rnn(rnn, inputs, state, cell_steps_max=3)
    assert hidden.shape == cell.shape == (2, 5, 7)
    torch.testing.assert_close(outputs.float(), expected, rtol=0, atol=3e-2)


def test_run_rnn_falls_back_to_the_module_for_what_cells_cannot_run():
    torch.manual_seed(0)
    rnn = nn.LSTM(6, 7, 2, bidirectional=True).eval()
    state = (torch.randn(4, 5, 7), torch.randn(4, 5, 7))
    inputs = torch.randn(1, 5, 6)
    expected, _ = rnn(inputs, state)
    outputs, _ = run_rnn(rnn, inputs, state, cell_steps_max=5)
    torch.testing.assert_close(outputs, expected, **FP32_DEEP)


@pytest.mark.parametrize("rnn", [nn.LSTM(6, 7, bidirectional=True), nn.LSTM(6, 7, batch_first=True),
                                 nn.LSTM(6, 7, proj_size=3), nn.RNN(6, 7)])
def test_rnn_step_refuses_rnns_it_cannot_run(rnn):
    assert not supports_cell_step(rnn)
    with pytest.raises(ValueError, match="call the module"):
        rnn_step(rnn, torch.randn(5, 6), torch.zeros(1, 5, 7))


def test_rnn_step_refuses_a_state_of_the_wrong_kind():
    lstm, gru_state = nn.LSTM(6, 7), torch.zeros(1, 5, 7)
    with pytest.raises(ValueError, match=r"\(hidden, cell\) pair for an LSTM"):
        rnn_step(lstm, torch.randn(5, 6), gru_state)
    with pytest.raises(ValueError, match="one tensor for a GRU"):
        rnn_step(nn.GRU(6, 7), torch.randn(5, 6), (gru_state, gru_state))


@pytest.mark.parametrize("limit", [-1, 1.5, True])
def test_run_rnn_refuses_a_bad_limit(limit):
    rnn, state = _rnn_and_state(nn.LSTM, 1)
    with pytest.raises(ValueError, match="cell_steps_max must be an integer >= 0"):
        run_rnn(rnn, torch.randn(2, 5, 6), state, cell_steps_max=limit)


def test_rnn_step_refuses_an_input_of_the_wrong_shape():
    rnn, state = _rnn_and_state(nn.LSTM, 1)
    with pytest.raises(ValueError, match=r"x must be shaped \(batch, 6\)"):
        rnn_step(rnn, torch.randn(1, 5, 6), state)


@pytest.mark.parametrize("grad, autocast, batch, cells", [
    (True, True, 65, True),     # training: the cells skip the module's costly backward set-up
    pytest.param(False, True, 65, False, marks=pytest.mark.cpu_bf16),  # bf16 inference, large batch: oneDNN's LSTM
    (False, True, 64, True),
    (False, False, 65, True),   # fp32 inference
])
def test_run_rnn_leaves_large_bf16_inference_batches_to_the_module(monkeypatch, grad, autocast, batch, cells):
    import seq2seq_lib.fast.cells as module

    calls = []
    monkeypatch.setattr(module, "rnn_step", lambda *args: calls.append(1) or rnn_step(*args))
    rnn, state = _rnn_and_state(nn.LSTM, 2, batch=batch)
    with torch.set_grad_enabled(grad), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        outputs, _ = run_rnn(rnn.eval(), torch.randn(1, batch, 6), state)
    assert outputs.shape == (1, batch, 7)
    assert bool(calls) == cells

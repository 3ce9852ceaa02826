"""Short runs of a multi-layer nn.LSTM / nn.GRU, computed step by step with the cell functions.

A call to nn.LSTM carries a fixed cost on top of its per-step work: oneDNN on a CPU re-lays
out the weights for every call, cuDNN sets up descriptors and workspaces. When a decoder feeds
its own prediction back, the runs are one step long and that fixed cost is most of the time.
`torch.lstm_cell` / `torch.gru_cell` do the same arithmetic with no set-up (on CUDA: two matrix
products and one fused kernel per layer), so runs up to a few steps go through them instead. On
an x86 CPU in fp32 the cells below do that arithmetic with oneDNN's matrix products (`gemm`).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..utils import autocast_state
from . import gemm
from .dropout import dropout

# Longest run computed step by step, per device type (any other: 1). A module call carries a
# fixed set-up cost that a cell step does not, so lone steps always skip it. On the 2-core CPU,
# with the cells' products in oneDNN, limits of 1, 3, 6 and 50 steps trained the classic model
# at 0.45-0.50 s per batch, within the run-to-run spread of each other.
# `benchmarks/train_step.py --cell-steps N` measures the training step with another limit.
CELL_STEPS_MAX = {"cpu": 3}


def supports_cell_step(rnn: nn.Module) -> bool:
    """True for a plain time-major, one-direction nn.LSTM or nn.GRU that `rnn_step` can run."""
    return (type(rnn) in (nn.LSTM, nn.GRU) and not rnn.batch_first and not rnn.bidirectional
            and getattr(rnn, "proj_size", 0) == 0)


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """torch.lstm_cell: x (B, In), (h, c) (B, H) each -> new (h, c), its matrix products through `gemm`."""
    h, c = state
    if not gemm.usable(x, h, w_ih):
        return torch.lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)
    gates = gemm.linear(x, w_ih, b_ih) + gemm.linear(h, w_hh, b_hh)  # (B, 4H): input, forget, cell, output
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor:
    """torch.gru_cell: x (B, In), h (B, H) -> new h, its matrix products through `gemm`."""
    if not gemm.usable(x, h, w_ih):
        return torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
    x_r, x_z, x_n = gemm.linear(x, w_ih, b_ih).chunk(3, 1)  # (B, H) each: reset, update, new
    h_r, h_z, h_n = gemm.linear(h, w_hh, b_hh).chunk(3, 1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


def rnn_step(rnn: nn.RNNBase, x: Tensor, state: Any) -> tuple[Tensor, Any]:
    """x (B, In), state (L, B, H) or a (hidden, cell) pair -> output (B, H), new state.

    Equals `rnn(x[None], state)` with the time axis dropped, inter-layer dropout included.
    """
    if not supports_cell_step(rnn):
        raise ValueError(f"rnn_step runs a time-major, one-direction nn.LSTM or nn.GRU, got {rnn!r}; "
                         "call the module on a (1, B, In) input instead.")
    if x.dim() != 2 or x.shape[1] != rnn.input_size:
        raise ValueError(f"x must be shaped (batch, {rnn.input_size}) for one time step, got {tuple(x.shape)}; "
                         "a (1, batch, features) block goes through run_rnn.")
    is_lstm = isinstance(state, tuple)
    if is_lstm != (rnn.mode == "LSTM"):
        raise ValueError(f"state must be a (hidden, cell) pair for an LSTM and one tensor for a GRU; "
                         f"got {type(state).__name__} for {rnn.mode}.")
    hidden, cell = state if is_lstm else (state, None)  # (L, B, H)
    new_hidden, new_cell = [], []
    for layer in range(rnn.num_layers):
        weights = [getattr(rnn, f"{name}_l{layer}", None)  # biases are None when bias=False
                   for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if layer:
            x = dropout(x, rnn.dropout, rnn.training)  # between layers, as nn.LSTM does
        if is_lstm:
            x, c = lstm_cell(x, (hidden[layer], cell[layer]), *weights)  # (B, H) each
            new_cell.append(c)
        else:
            x = gru_cell(x, hidden[layer], *weights)  # (B, H)
        new_hidden.append(x)
    new_state = torch.stack(new_hidden)  # (L, B, H)
    return x, (new_state, torch.stack(new_cell)) if is_lstm else new_state


def _onednn_bf16_inference_wins(inputs: Tensor) -> bool:
    """True where oneDNN's bf16 LSTM beats the cells: CPU autocast, no backward, batches over 64.

    Greedy decoding of 1,000 sentences in batches of 256 took 1.31 s through the module and
    1.59 s through the cells; with a backward pass, or one sentence at a time, the cells win.
    """
    return (not torch.is_grad_enabled() and inputs.device.type == "cpu" and inputs.shape[1] > 64
            and autocast_state("cpu")[0])


def run_rnn(rnn: nn.RNNBase, inputs: Tensor, state: Any, cell_steps_max: int | None = None
            ) -> tuple[Tensor, Any]:
    """inputs (k, B, In), state -> outputs (k, B, H), new state: the same as `rnn(inputs, state)`.

    Runs of at most `cell_steps_max` steps (default: CELL_STEPS_MAX for the device, else 1) go
    step by step through `rnn_step`. One module call takes longer runs, a missing state, RNNs
    that `rnn_step` cannot run, and large bf16 batches without a backward pass on a CPU.
    """
    if cell_steps_max is None:
        cell_steps_max = CELL_STEPS_MAX.get(inputs.device.type, 1)
    elif isinstance(cell_steps_max, bool) or not isinstance(cell_steps_max, int) or cell_steps_max < 0:
        raise ValueError(f"cell_steps_max must be an integer >= 0 (0: always one module call), "
                         f"got {cell_steps_max!r}.")
    if inputs.shape[0] > cell_steps_max or state is None or not supports_cell_step(rnn) \
            or _onednn_bf16_inference_wins(inputs):
        return rnn(inputs, state)
    outputs = []
    for x in inputs:  # x (B, In)
        output, state = rnn_step(rnn, x, state)
        outputs.append(output)
    return torch.stack(outputs), state  # (k, B, H)


__all__ = ["CELL_STEPS_MAX", "lstm_cell", "gru_cell", "rnn_step", "run_rnn", "supports_cell_step"]

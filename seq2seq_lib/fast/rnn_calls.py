"""Whole nn.LSTM / nn.GRU calls on a CPU, made by the engine: layer by layer, and one length at a time.

Two costs of a module call that its arithmetic does not need:
- Between layers the module draws its dropout mask with `bernoulli_`, one element at a time
  (`dropout` explains); calling the layers one by one lets the engine's mask go between them.
- A packed batch of mixed lengths leaves oneDNN's LSTM, which takes only unpacked input, for
  PyTorch's step-by-step packed path: the classic encoder's forward and backward on a batch of
  128 sentences of two lengths took 332-404 ms packed, 157-179 ms as one oneDNN call per length,
  on the 2-core development CPU.
  Bucketed batches hold few distinct lengths, so the engine runs each length as one unpacked
  call and puts the results back in place: each sentence still stops at its own last token.

`rnn_forward(rnn, input, hx)` returns what `rnn(input, hx)` returns; `fast_rnns(model)` makes
every supported RNN of the model call it, as `fast_dropout` does for dropout.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .dropout import dropout
from .swap import forwards_swapped

_RUN_LAYER = {nn.LSTM: torch._VF.lstm, nn.GRU: torch._VF.gru}


def supports_rnn_calls(rnn: nn.Module) -> bool:
    """True for a time-major nn.LSTM / nn.GRU without projections: what `rnn_forward` runs."""
    return type(rnn) in _RUN_LAYER and not rnn.batch_first and getattr(rnn, "proj_size", 0) == 0


def _each(state: Any, take: Callable[[Tensor], Tensor]) -> Any:
    """`take` applied to a GRU's hidden state, or to both tensors of an LSTM's (hidden, cell)."""
    return tuple(take(part) for part in state) if isinstance(state, tuple) else take(state)


def _joined(states: list, dim: int) -> Any:
    """Several states (of layers or of groups of sentences) as one, concatenated along `dim`."""
    if isinstance(states[0], tuple):
        return tuple(torch.cat(parts, dim) for parts in zip(*states))
    return torch.cat(states, dim)


def _initial_state(rnn: nn.RNNBase, x: Tensor) -> Any:
    """Zeros (L * D, B, H), a pair of them for an LSTM: what the module starts from without hx."""
    zeros = x.new_zeros(rnn.num_layers * (2 if rnn.bidirectional else 1), x.shape[1], rnn.hidden_size)
    return (zeros, zeros) if type(rnn) is nn.LSTM else zeros


def _layer_by_layer(rnn: nn.RNNBase, x: Tensor, hx: Any) -> tuple[Tensor, Any]:
    """x (S, B, In) unpacked -> output (S, B, D*H), final state: one call per layer, the engine's dropout between."""
    hx = _initial_state(rnn, x) if hx is None else hx
    directions = 2 if rnn.bidirectional else 1
    per_layer = len(rnn._flat_weights) // rnn.num_layers  # w_ih, w_hh (, b_ih, b_hh) per direction
    states = []
    for layer in range(rnn.num_layers):
        if layer:
            x = dropout(x, rnn.dropout, rnn.training)  # where the module would draw its own mask
        rows = slice(layer * directions, (layer + 1) * directions)
        weights = rnn._flat_weights[layer * per_layer:(layer + 1) * per_layer]
        x, *state = _RUN_LAYER[type(rnn)](x, _each(hx, lambda part: part[rows]), weights, rnn.bias, 1, 0.0,
                                          rnn.training, rnn.bidirectional, False)
        states.append(tuple(state) if len(state) == 2 else state[0])  # (h, c) of an LSTM, h of a GRU
    return x, _joined(states, 0)  # (L * D, B, H)


def _by_length(rnn: nn.RNNBase, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
    """A packed batch as one unpacked call per distinct length, reassembled in the batch's order."""
    padded, lengths = pad_packed_sequence(packed)  # (S, B, In), (B,) in the caller's order
    hx = _initial_state(rnn, padded) if hx is None else hx
    outputs, states, order = [], [], []
    for length in lengths.unique().tolist():
        rows = (lengths == length).nonzero().squeeze(1)  # the sentences of this length
        output, state = _layer_by_layer(rnn, padded[:length, rows], _each(hx, lambda part: part[:, rows]))
        outputs.append(nn.functional.pad(output, (0, 0, 0, 0, 0, padded.shape[0] - length)))  # zeros after
        states.append(state)
        order.append(rows)
    back = torch.cat(order).argsort()  # column j of the concatenation -> its place in the batch
    output = torch.cat(outputs, dim=1)[:, back]  # (S, B, D*H)
    state = _each(_joined(states, 1), lambda part: part[:, back])
    return pack_padded_sequence(output, lengths, enforce_sorted=False), state


def rnn_forward(rnn: nn.RNNBase, input: Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
    """`rnn(input, hx)` as the engine computes it on a CPU; elsewhere (or for RNNs it cannot run) the module's own call."""
    device = (input.data if isinstance(input, PackedSequence) else input).device
    if device.type != "cpu" or not supports_rnn_calls(rnn):
        return type(rnn).forward(rnn, input, hx)
    if isinstance(input, PackedSequence):
        return _by_length(rnn, input, hx)
    if input.dim() != 3:  # unbatched input: the module's own checks and messages
        return type(rnn).forward(rnn, input, hx)
    return _layer_by_layer(rnn, input, hx)


def fast_rnns(model: nn.Module) -> AbstractContextManager[None]:
    """Inside this block every nn.LSTM / nn.GRU of `model` that `rnn_forward` can run is called through it."""
    return forwards_swapped([module for module in model.modules() if supports_rnn_calls(module)], rnn_forward)


__all__ = ["supports_rnn_calls", "rnn_forward", "fast_rnns"]

"""The encoder's summary at every decoder step (Cho et al., 2014): the classic encoder, a decoder
that re-reads the context.

In the classic model the encoder's final state only starts the decoder, and must survive every
later step inside the decoder's own state. Cho et al. also hand that summary, the context z (the
encoder's final top-layer hidden state), to every step: the RNN reads [embedding; z] and the
output layer reads [output; z; embedding], so the decoder's state no longer has to carry the
source alone. The encoder is the classic one (`classic.Encoder`); Cho et al. use one GRU layer.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .layers import check_cell_state, join_state, make_rnn, split_state


class ContextState(NamedTuple):
    """What the decoder carries from step to step; every tensor has the batch in dim 1."""

    hidden: Tensor  # (L, B, H)
    cell: Tensor | None  # (L, B, H) for an LSTM, None for a GRU
    context: Tensor  # (1, B, H): the encoder's summary, the same at every step


class ContextDecoder(nn.Module):
    """One step: embed, run the RNN on [embedding; context], project [output; context; embedding]."""

    feeds_context = True

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "gru") -> None:
        super().__init__()
        self.vocab_size, self.hidden_dim, self.n_layers = vocab_size, hidden_dim, n_layers
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = make_rnn(rnn_type, emb_dim + hidden_dim, hidden_dim, n_layers, dropout)
        self.fc_out = nn.Linear(hidden_dim + hidden_dim + emb_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def init_state(self, enc_outputs: Tensor, hidden: Tensor, cell: Tensor | None,
                   src_mask: Tensor) -> ContextState:
        """Start from the encoder's final state and keep its top layer as the context z."""
        check_cell_state(self.rnn_type, cell)
        return ContextState(hidden, cell, hidden[-1:])  # context (1, B, H)

    def forward(self, input: Tensor, state: ContextState) -> tuple[Tensor, ContextState]:
        """input (B,) -> logits (B, V), new state (the context unchanged)."""
        embedded = self.dropout(self.embedding(input))  # (B, E)
        context = state.context[0]  # (B, H)
        rnn_input = torch.cat([embedded, context], dim=-1).unsqueeze(0)  # (1, B, E + H)
        output, rnn_state = self.rnn(rnn_input, join_state(state.hidden, state.cell))  # (1, B, H)
        hidden, cell = split_state(rnn_state)
        logits = self.fc_out(torch.cat([output[0], context, embedded], dim=-1))  # (B, V)
        return logits, state._replace(hidden=hidden, cell=cell)

    def step(self, input: Tensor, state: ContextState) -> tuple[Tensor, ContextState, None]:
        """The decoder protocol: logits, new state, and no attention weights."""
        logits, state = self(input, state)
        return logits, state, None


__all__ = ["ContextState", "ContextDecoder"]

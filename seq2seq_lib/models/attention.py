"""Bahdanau attention: a bidirectional encoder and a decoder that looks back at every source word.

The encoder is a bidirectional LSTM/GRU; its final forward and backward states go through
Linear + tanh (the bridge) to become the decoder's first hidden state. At each step the decoder
scores every source position j with additive attention `e_j = v^T tanh(W [s; h_j])` (s: the
decoder's previous top-layer hidden state, h_j: the encoder output at j), turns the scores into
weights with a softmax in which padding gets exactly zero weight, and reads the context
`c = sum_j a_j h_j`. The RNN input is [embedding; context] and the vocabulary projection reads
[rnn output; context; embedding].

`W [s; h_j]` is computed as `W_s s + W_h h_j`, the same thing split in two, so that the
encoder-side part `W_h h_j` (the keys) is computed once per sentence rather than once per step.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .layers import check_cell_state, check_src_mask, join_state, make_rnn, run_encoder_rnn, split_state


def masked_softmax(scores: Tensor, mask: Tensor, dim: int = 0) -> Tensor:
    """Softmax of `scores` along `dim` where positions with mask False get weight exactly 0.

    >>> masked_softmax(torch.tensor([1.0, 1.0, 5.0]), torch.tensor([True, True, False])).tolist()
    [0.5, 0.5, 0.0]
    """
    if scores.shape != mask.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and mask {tuple(mask.shape)} must have the "
                         "same shape; build the mask as (src != pad_idx).")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must hold booleans (True where a position may be read), got {mask.dtype}; "
                        "build it as (src != pad_idx), or convert with .bool().")
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=dim)


class BiEncoder(nn.Module):
    """Embedding -> dropout -> bidirectional LSTM/GRU; final states -> Linear + tanh -> decoder start."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "gru") -> None:
        super().__init__()
        self.hidden_dim, self.n_layers, self.rnn_type = hidden_dim, n_layers, rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = make_rnn(rnn_type, emb_dim, hidden_dim, n_layers, dropout, bidirectional=True)
        self.fc_hidden = nn.Linear(2 * hidden_dim, hidden_dim)
        self.fc_cell = nn.Linear(2 * hidden_dim, hidden_dim) if rnn_type == "lstm" else None
        self.dropout = nn.Dropout(dropout)

    def bridge(self, final: Tensor, fc: nn.Linear) -> Tensor:
        """final (2L, B, H) from both directions -> tanh(fc([forward; backward])) (L, B, H)."""
        both = final.view(self.n_layers, 2, final.shape[1], self.hidden_dim)  # (L, 2, B, H)
        return torch.tanh(fc(torch.cat([both[:, 0], both[:, 1]], dim=-1)))  # (L, B, 2H) -> (L, B, H)

    def forward(self, src: Tensor, src_lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """src (S, B) -> outputs (S, B, 2H), hidden (L, B, H), cell (L, B, H) or None for a GRU."""
        embedded = self.dropout(self.embedding(src))  # (S, B, E)
        outputs, state = run_encoder_rnn(self.rnn, embedded, src_lengths)  # (S, B, 2H)
        hidden, cell = split_state(state)  # (2L, B, H) each: both directions of every layer
        cell = None if cell is None else self.bridge(cell, self.fc_cell)
        return outputs, self.bridge(hidden, self.fc_hidden), cell


class AdditiveAttention(nn.Module):
    """Bahdanau scoring `v^T tanh(W_s s + W_h h_j)` with padding masked out."""

    def __init__(self, hidden_dim: int, enc_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(hidden_dim, attn_dim, bias=False)  # W_s
        self.key_proj = nn.Linear(enc_dim, attn_dim)  # W_h (carries W's bias)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def keys(self, enc_outputs: Tensor) -> Tensor:
        """enc_outputs (S, B, 2H) -> W_h h_j (S, B, A), computed once per batch."""
        return self.key_proj(enc_outputs)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
        """query (B, H), keys (S, B, A), mask (S, B) -> weights (S, B), each column summing to 1."""
        energy = torch.tanh(keys + self.query_proj(query).unsqueeze(0))  # (S, B, A)
        return masked_softmax(self.v(energy).squeeze(-1), mask, dim=0)  # (S, B)


class AttentionState(NamedTuple):
    """Decoder state; every tensor has the batch in dim 1, so beam search can reorder it uniformly."""

    hidden: Tensor  # (L, B, H)
    cell: Tensor | None  # (L, B, H) for LSTM, None for GRU
    enc_outputs: Tensor  # (S, B, 2H)
    keys: Tensor  # (S, B, A): W_h h_j
    mask: Tensor  # (S, B): True at real source tokens


class AttentionDecoder(nn.Module):
    """One step: attend, read the context, run the RNN, project [output; context; embedding]."""

    has_attention = True

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "gru") -> None:
        super().__init__()
        self.vocab_size, self.hidden_dim, self.n_layers = vocab_size, hidden_dim, n_layers
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.attention = AdditiveAttention(hidden_dim, 2 * hidden_dim, hidden_dim)
        self.rnn = make_rnn(rnn_type, emb_dim + 2 * hidden_dim, hidden_dim, n_layers, dropout)
        self.fc_out = nn.Linear(hidden_dim + 2 * hidden_dim + emb_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def init_state(self, enc_outputs: Tensor, hidden: Tensor, cell: Tensor | None,
                   src_mask: Tensor) -> AttentionState:
        """Keep the encoder outputs, their keys W_h h_j and the mask (S, B) for every step."""
        check_src_mask(enc_outputs, src_mask)
        check_cell_state(self.rnn_type, cell)
        return AttentionState(hidden, cell, enc_outputs, self.attention.keys(enc_outputs), src_mask)

    def forward(self, input: Tensor, state: AttentionState) -> tuple[Tensor, AttentionState, Tensor]:
        """input (B,) -> logits (B, V), new state, attention weights (B, S)."""
        embedded = self.dropout(self.embedding(input))  # (B, E)
        weights = self.attention(state.hidden[-1], state.keys, state.mask)  # (S, B), from the previous state
        context = torch.einsum("sb,sbd->bd", weights, state.enc_outputs)  # (B, 2H): sum_j a_j h_j
        rnn_input = torch.cat([embedded, context], dim=-1).unsqueeze(0)  # (1, B, E + 2H)
        output, rnn_state = self.rnn(rnn_input, join_state(state.hidden, state.cell))  # (1, B, H)
        hidden, cell = split_state(rnn_state)
        logits = self.fc_out(torch.cat([output[0], context, embedded], dim=-1))  # (B, V)
        return logits, state._replace(hidden=hidden, cell=cell), weights.t()  # weights (B, S)

    def step(self, input: Tensor, state: AttentionState) -> tuple[Tensor, AttentionState, Tensor]:
        """The decoder protocol: the same as calling the decoder."""
        return self(input, state)


__all__ = ["masked_softmax", "BiEncoder", "AdditiveAttention", "AttentionState", "AttentionDecoder"]

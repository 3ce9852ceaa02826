"""Bahdanau attention: a bidirectional encoder and a decoder that looks back at every source word.

The model follows the classic Bahdanau layout. The encoder is a bidirectional LSTM/GRU; its
final forward and backward states go through Linear + tanh to become the decoder's first hidden
state. At each step the decoder scores every source position j with additive attention
`e_j = v^T tanh(W [s; h_j])` (s: the decoder's previous top-layer hidden state, h_j: the
encoder output at j), turns the scores into weights with a softmax in which padding gets
exactly zero weight, and reads the context `c = sum_j a_j h_j`. The RNN input is
[embedding; context] and the vocabulary projection reads [rnn output; context; embedding].

`W [s; h_j]` is computed as `W_s s + W_h h_j`, the same thing split in two, so that the
encoder-side part `W_h h_j` is computed once per batch rather than once per step.

The decoder follows the protocol of `models.Seq2Seq` (`init_state`, `run`, `project`), so
`Seq2Seq.forward`, `Seq2Seq.loss` and training work unchanged; `step` also returns the weights.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .dropout import Dropout
from .models import INIT_RANGE, RNN_CLASSES, Seq2Seq
from .rnn_step import run_rnn


def _rnn(rnn_type: str, input_dim: int, hidden_dim: int, n_layers: int, dropout: float,
         bidirectional: bool = False) -> nn.RNNBase:
    if rnn_type not in RNN_CLASSES:
        raise ValueError(f"rnn_type must be one of {tuple(RNN_CLASSES)}, got {rnn_type!r}.")
    inter_layer = dropout if n_layers > 1 else 0.0  # PyTorch warns about dropout on one layer
    return RNN_CLASSES[rnn_type](input_dim, hidden_dim, n_layers, dropout=inter_layer,
                                 bidirectional=bidirectional)


def masked_softmax(scores: Tensor, mask: Tensor, dim: int = 0) -> Tensor:
    """Softmax of `scores` along `dim` where positions with mask False get weight exactly 0.

    >>> masked_softmax(torch.tensor([1.0, 1.0, 5.0]), torch.tensor([True, True, False])).tolist()
    [0.5, 0.5, 0.0]
    """
    if scores.shape != mask.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and mask {tuple(mask.shape)} must have the "
                         "same shape; build the mask as (src != pad_idx).")
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=dim)


class BiEncoder(nn.Module):
    """Embedding -> dropout -> bidirectional LSTM/GRU; final states -> Linear + tanh -> decoder start."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "gru") -> None:
        super().__init__()
        self.hidden_dim, self.n_layers, self.rnn_type = hidden_dim, n_layers, rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = _rnn(rnn_type, emb_dim, hidden_dim, n_layers, dropout, bidirectional=True)
        self.fc_hidden = nn.Linear(2 * hidden_dim, hidden_dim)
        self.fc_cell = nn.Linear(2 * hidden_dim, hidden_dim) if rnn_type == "lstm" else None
        self.dropout = Dropout(dropout)

    def _bridge(self, final: Tensor, fc: nn.Linear) -> Tensor:
        """final (2L, B, H) from both directions -> tanh(fc([forward; backward])) (L, B, H)."""
        both = final.view(self.n_layers, 2, final.shape[1], self.hidden_dim)  # (L, 2, B, H)
        return torch.tanh(fc(torch.cat([both[:, 0], both[:, 1]], dim=-1)))  # (L, B, H)

    def forward(self, src: Tensor, src_lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """src (S, B) -> outputs (S, B, 2H), hidden (L, B, H), cell (L, B, H) or None for GRU.

        With `src_lengths` (B,) the padding is skipped in both directions, so the backward
        RNN starts at each sentence's own last token and padding cannot change the result.
        """
        embedded = self.dropout(self.embedding(src))  # (S, B, E)
        if src_lengths is None:
            outputs, state = self.rnn(embedded)  # (S, B, 2H)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(embedded, src_lengths.cpu(), enforce_sorted=False)
            packed_outputs, state = self.rnn(packed)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(
                packed_outputs, total_length=src.shape[0])  # (S, B, 2H), zeros past each length
        if isinstance(state, tuple):  # LSTM: (hidden, cell), each (2L, B, H)
            return outputs, self._bridge(state[0], self.fc_hidden), self._bridge(state[1], self.fc_cell)
        return outputs, self._bridge(state, self.fc_hidden), None


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
    """One or more decoder steps with attention; features are [rnn output; context; embedding]."""

    has_attention = True

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "gru") -> None:
        super().__init__()
        self.vocab_size, self.hidden_dim, self.n_layers = vocab_size, hidden_dim, n_layers
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.attention = AdditiveAttention(hidden_dim, 2 * hidden_dim, hidden_dim)
        self.rnn = _rnn(rnn_type, emb_dim + 2 * hidden_dim, hidden_dim, n_layers, dropout)
        self.fc_out = nn.Linear(hidden_dim + 2 * hidden_dim + emb_dim, vocab_size)
        self.dropout = Dropout(dropout)

    def init_state(self, enc_outputs: Tensor, hidden: Tensor, cell: Tensor | None,
                   src_mask: Tensor) -> AttentionState:
        """Keep the encoder outputs, their projection W_h h_j and the mask (S, B) for every step."""
        if src_mask.shape != enc_outputs.shape[:2]:
            raise ValueError(f"src_mask {tuple(src_mask.shape)} must be (S, B) = "
                             f"{tuple(enc_outputs.shape[:2])}; pass (src != pad_idx).")
        if not bool(src_mask.any(0).all()):
            raise ValueError("A source sentence is all padding; every column of src needs at "
                             "least one real token (numericalize adds <sos> and <eos>).")
        if (self.rnn_type == "lstm") != (cell is not None):
            raise ValueError(f"The decoder is a {self.rnn_type.upper()} but the encoder "
                             f"{'gave' if cell is not None else 'did not give'} a cell state; "
                             "build both from one ModelConfig with build_attention_model().")
        return AttentionState(hidden, cell, enc_outputs, self.attention.keys(enc_outputs), src_mask)

    def run_with_attention(self, inputs: Tensor, state: AttentionState
                           ) -> tuple[Tensor, AttentionState, Tensor]:
        """inputs (k, B) -> features (k, B, 3H + E), new state, weights (k, B, S)."""
        embedded = self.dropout(self.embedding(inputs))  # (k, B, E)
        hidden, cell = state.hidden, state.cell  # (L, B, H)
        outputs, contexts, weights = [], [], []
        for emb in embedded:  # emb (B, E); attention needs the previous hidden state
            attn = self.attention(hidden[-1], state.keys, state.mask)  # (S, B)
            context = torch.einsum("sb,sbd->bd", attn, state.enc_outputs)  # (B, 2H)
            rnn_input = torch.cat([emb, context], dim=-1).unsqueeze(0)  # (1, B, E + 2H)
            if cell is None:
                output, hidden = run_rnn(self.rnn, rnn_input, hidden)  # (1, B, H), (L, B, H)
            else:
                output, (hidden, cell) = run_rnn(self.rnn, rnn_input, (hidden, cell))
            outputs.append(output[0])
            contexts.append(context)
            weights.append(attn.t())  # (B, S)
        features = torch.cat([torch.stack(outputs), torch.stack(contexts), embedded], dim=-1)  # (k, B, F)
        return features, state._replace(hidden=hidden, cell=cell), torch.stack(weights)  # (k, B, S)

    def run(self, inputs: Tensor, state: AttentionState) -> tuple[Tensor, AttentionState]:
        """inputs (k, B) known tokens -> features (k, B, 3H + E), new state; no projection."""
        features, state, _ = self.run_with_attention(inputs, state)
        return features, state

    def project(self, features: Tensor) -> Tensor:
        """features (..., 3H + E) -> logits (..., V)."""
        return self.fc_out(features)

    def step(self, input: Tensor, state: AttentionState) -> tuple[Tensor, AttentionState, Tensor]:
        """One step: input (B,) -> logits (B, V), new state, attention weights (B, S)."""
        features, state, weights = self.run_with_attention(input.unsqueeze(0), state)  # (1, B, F)
        return self.project(features[0]), state, weights[0]


def build_attention_model(config: ModelConfig, src_vocab_size: int, trg_vocab_size: int,
                          pad_idx: int = 1, sos_idx: int = 2) -> Seq2Seq:
    """A Seq2Seq with BiEncoder + AttentionDecoder from a ModelConfig (attention=True), uniform(-0.08, 0.08) init."""
    if not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig, got {type(config).__name__}.")
    if not config.attention:
        raise ValueError("This config has attention=False, so a checkpoint of the model would describe "
                         "the wrong architecture; pass dataclasses.replace(config, attention=True), "
                         "or use models.build_model for the plain encoder-decoder.")
    for name, size in (("src_vocab_size", src_vocab_size), ("trg_vocab_size", trg_vocab_size)):
        if isinstance(size, bool) or not isinstance(size, int) or size <= max(pad_idx, sos_idx):
            raise ValueError(f"{name} must be an integer > {max(pad_idx, sos_idx)} (the specials "
                             f"need their ids), got {size!r}; pass len(vocab).")
    sizes = (config.emb_dim, config.hidden_dim, config.n_layers, config.dropout, config.rnn_type)
    model = Seq2Seq(BiEncoder(src_vocab_size, *sizes), AttentionDecoder(trg_vocab_size, *sizes),
                    pad_idx, sos_idx)
    for param in model.parameters():
        nn.init.uniform_(param, -INIT_RANGE, INIT_RANGE)
    return model


__all__ = ["masked_softmax", "BiEncoder", "AdditiveAttention", "AttentionState", "AttentionDecoder",
           "build_attention_model"]

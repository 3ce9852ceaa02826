"""The classic encoder-decoder (Sutskever et al., 2014): two LSTMs and a linear layer.

The encoder reads the whole German sentence and hands its final hidden and cell states to the
decoder, which writes the English sentence one token at a time. Tensors are time-major: `src`
is (S, B) and each decoder step takes one token per sentence, (B,).
"""
from __future__ import annotations

from torch import Tensor, nn

from .layers import join_state, make_rnn, run_encoder_rnn, split_state


class Encoder(nn.Module):
    """Embedding -> dropout -> multi-layer LSTM (or GRU) over the source sentence."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "lstm") -> None:
        super().__init__()
        self.hidden_dim, self.n_layers, self.rnn_type = hidden_dim, n_layers, rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = make_rnn(rnn_type, emb_dim, hidden_dim, n_layers, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: Tensor, src_lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """src (S, B) -> outputs (S, B, H), hidden (L, B, H), cell (L, B, H) or None for a GRU."""
        embedded = self.dropout(self.embedding(src))  # (S, B, E)
        outputs, state = run_encoder_rnn(self.rnn, embedded, src_lengths)  # (S, B, H)
        hidden, cell = split_state(state)  # (L, B, H) each
        return outputs, hidden, cell


class Decoder(nn.Module):
    """One step: embedding -> dropout -> multi-layer LSTM (or GRU) -> Linear onto the vocabulary."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "lstm") -> None:
        super().__init__()
        self.vocab_size, self.hidden_dim, self.n_layers = vocab_size, hidden_dim, n_layers
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = make_rnn(rnn_type, emb_dim, hidden_dim, n_layers, dropout)
        self.fc_out = nn.Linear(hidden_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input: Tensor, hidden: Tensor, cell: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """input (B,), hidden/cell (L, B, H) -> logits (B, V), new hidden, new cell."""
        embedded = self.dropout(self.embedding(input.unsqueeze(0)))  # (1, B, E): a sequence of length 1
        output, state = self.rnn(embedded, join_state(hidden, cell))  # (1, B, H)
        hidden, cell = split_state(state)
        return self.fc_out(output.squeeze(0)), hidden, cell  # (B, V)

    def init_state(self, enc_outputs: Tensor, hidden: Tensor, cell: Tensor | None,
                   src_mask: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """The decoder's first state: the encoder's final (hidden, cell); it needs nothing else."""
        return join_state(hidden, cell)

    def step(self, input: Tensor, state: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, object, None]:
        """The decoder protocol: input (B,), state -> logits (B, V), new state, no attention weights."""
        logits, hidden, cell = self(input, *split_state(state))
        return logits, join_state(hidden, cell), None


__all__ = ["Encoder", "Decoder"]

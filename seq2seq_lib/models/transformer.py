"""The Transformer (Vaswani et al., 2017): attention only, no recurrence.

Every source word attends to every other word at once (self-attention), so the encoder has no
step loop. Read in this order:

1. `scaled_dot_product_attention`: softmax(Q K^T / sqrt(d)) V, with a mask. Notebook 09's
   additive attention scored a query against keys with a small network; here the score is a
   dot product, scaled so that it does not grow with the width d.
2. `MultiHeadAttention`: project into `n_heads` smaller spaces, attend in each, concatenate.
3. `sinusoidal_positions`: attention ignores order, so each position adds its own pattern.
4. `EncoderLayer` / `DecoderLayer`: attention and a feed-forward block, each wrapped in a
   residual connection and a LayerNorm (before the sublayer with `pre_norm`, after it as in 2017).
5. `TransformerEncoder` / `TransformerDecoder`: embeddings scaled by sqrt(d_model) plus
   positions, then the stacks; the decoder's output layer shares the embedding matrix (weight
   tying) when `tie_embeddings`.
6. `Transformer`: the `Seq2Seq` of this family. Teacher-forced, every target position is
   computed in one pass under a look-ahead mask; otherwise it runs the series' step loop.

Tensors enter and leave time-major, (seq_len, batch), like every model in the series; inside,
attention works batch-first, (batch, heads, seq_len, d_head). The decoder state keeps the
tokens generated so far, so `step` follows the decoder protocol and beam search, the
Translator and the widgets run this model unchanged.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .layers import check_src_mask
from .seq2seq import Seq2Seq, check_batch


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None,
                                 dropout: nn.Module | None = None) -> tuple[Tensor, Tensor]:
    """query (..., Tq, d), key/value (..., Tk, d), mask broadcastable to (..., Tq, Tk), True where a
    query may look -> output (..., Tq, d), weights (..., Tq, Tk) (each row sums to 1; `dropout`,
    when given, drops some of them while training, as in the 2017 paper).

    >>> q = k = torch.eye(2).unsqueeze(0)  # two orthogonal keys
    >>> out, w = scaled_dot_product_attention(q, k, torch.tensor([[[1.0], [3.0]]]))
    >>> [round(x, 3) for x in w[0, 0].tolist()]  # softmax([1, 0] / sqrt(2))
    [0.67, 0.33]
    """
    if mask is not None and mask.dtype != torch.bool:
        raise TypeError(f"mask must hold booleans (True where a query may look), got {mask.dtype}; "
                        "build it with padding_mask / look_ahead_mask, or convert with .bool().")
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])  # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights if dropout is None else dropout(weights)) @ value, weights


def look_ahead_mask(size: int, device: torch.device | None = None) -> Tensor:
    """(size, size) booleans, True on and below the diagonal: position t may look at 0..t only.

    >>> look_ahead_mask(3).int().tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer (the target length), got {size!r}.")
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def padding_mask(keep: Tensor) -> Tensor:
    """keep (S, B), True at real tokens -> (B, 1, 1, S): every head and every query skips the padding."""
    if not isinstance(keep, Tensor) or keep.dim() != 2 or keep.dtype != torch.bool:
        raise ValueError(f"keep must be a (seq_len, batch) boolean tensor such as src != pad_idx, got "
                         f"{getattr(keep, 'dtype', type(keep))} {tuple(getattr(keep, 'shape', ()))}.")
    return keep.t()[:, None, None, :]


def sinusoidal_positions(n_positions: int, d_model: int) -> Tensor:
    """(n_positions, d_model): sin on even features, cos on odd ones, wavelengths from 2*pi to 10000*2*pi.

    >>> sinusoidal_positions(2, 4).tolist()[0]
    [0.0, 1.0, 0.0, 1.0]
    """
    for name, value in (("n_positions", n_positions), ("d_model", d_model)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)  # (P, 1)
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(n_positions, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
    return table


class MultiHeadAttention(nn.Module):
    """n_heads attentions side by side, each over d_model // n_heads features, then one output projection."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads < 1:
            raise ValueError(f"n_heads must be a positive integer, got {n_heads!r}.")
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads}).")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(d_model, d_model) for _ in range(3))
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, x: Tensor) -> Tensor:
        """(B, T, D) -> (B, h, T, D/h)."""
        return x.view(x.shape[0], x.shape[1], self.n_heads, self.d_head).transpose(1, 2)

    def forward(self, query: Tensor, key_value: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """query (B, Tq, D), key_value (B, Tk, D) -> output (B, Tq, D), weights (B, h, Tq, Tk)."""
        q = self.split_heads(self.q_proj(query))  # (B, h, Tq, D/h)
        k, v = self.split_heads(self.k_proj(key_value)), self.split_heads(self.v_proj(key_value))  # (B, h, Tk, D/h)
        heads, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout)  # (B, h, Tq, D/h)
        joined = heads.transpose(1, 2).reshape(query.shape[0], query.shape[1], -1)  # (B, Tq, D)
        return self.out_proj(joined), weights


class FeedForward(nn.Sequential):
    """Linear(D, F) -> ReLU -> dropout -> Linear(F, D), applied to every position alone."""

    def __init__(self, d_model: int, ff_dim: int, dropout: float) -> None:
        super().__init__(nn.Linear(d_model, ff_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff_dim, d_model))


class Residual(nn.Module):
    """x + dropout(sublayer(x)) with a LayerNorm before the sublayer (pre-norm) or after the sum (post-norm)."""

    def __init__(self, d_model: int, dropout: float, pre_norm: bool) -> None:
        super().__init__()
        self.norm, self.dropout, self.pre_norm = nn.LayerNorm(d_model), nn.Dropout(dropout), pre_norm

    def forward(self, x: Tensor, sublayer) -> tuple[Tensor, Tensor | None]:
        """x (B, T, D); `sublayer(x) -> (y (B, T, D), weights or None)` -> (new x, weights)."""
        y, weights = sublayer(self.norm(x) if self.pre_norm else x)
        x = x + self.dropout(y)
        return (x if self.pre_norm else self.norm(x)), weights


class EncoderLayer(nn.Module):
    """Self-attention over the source, then the feed-forward block."""

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, dropout: float, pre_norm: bool) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = FeedForward(d_model, ff_dim, dropout)
        self.attention_block, self.ff_block = (Residual(d_model, dropout, pre_norm) for _ in range(2))

    def forward(self, x: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, S, D), src_mask (B, 1, 1, S) -> x (B, S, D), self-attention weights (B, h, S, S)."""
        x, weights = self.attention_block(x, lambda h: self.self_attention(h, h, src_mask))
        x, _ = self.ff_block(x, lambda h: (self.feed_forward(h), None))
        return x, weights


class DecoderLayer(nn.Module):
    """Masked self-attention over the target so far, attention to the source, then the feed-forward block."""

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, dropout: float, pre_norm: bool) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attention = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = FeedForward(d_model, ff_dim, dropout)
        self.self_block, self.cross_block, self.ff_block = (Residual(d_model, dropout, pre_norm) for _ in range(3))

    def forward(self, x: Tensor, memory: Tensor, trg_mask: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, T, D), memory (B, S, D), trg_mask (T, T), src_mask (B, 1, 1, S)
        -> x (B, T, D), cross-attention weights (B, h, T, S)."""
        x, _ = self.self_block(x, lambda h: self.self_attention(h, h, trg_mask))
        x, weights = self.cross_block(x, lambda h: self.cross_attention(h, memory, src_mask))
        x, _ = self.ff_block(x, lambda h: (self.feed_forward(h), None))
        return x, weights


class Embedder(nn.Module):
    """Token ids (T, B) -> embedding * sqrt(d_model) + position, dropout -> (B, T, D)."""

    def __init__(self, vocab_size: int, d_model: int, max_positions: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.register_buffer("positions", sinusoidal_positions(max_positions, d_model), persistent=False)
        self.dropout, self.scale = nn.Dropout(dropout), math.sqrt(d_model)

    def forward(self, tokens: Tensor) -> Tensor:
        length = tokens.shape[0]
        if length > self.positions.shape[0]:
            raise ValueError(f"A sequence of {length} tokens is longer than the {self.positions.shape[0]} "
                             "positions this Transformer was built for; shorten it or rebuild with a larger "
                             "ModelConfig.max_positions.")
        x = self.embedding(tokens.t()) * self.scale  # (B, T, D)
        return self.dropout(x + self.positions[:length])


class TransformerEncoder(nn.Module):
    """Embed the source, then n_layers of self-attention; returns the memory the decoder reads."""

    def __init__(self, vocab_size: int, d_model: int, ff_dim: int, n_layers: int, n_heads: int, dropout: float,
                 pre_norm: bool = True, max_positions: int = 256) -> None:
        super().__init__()
        self.hidden_dim, self.n_layers = d_model, n_layers
        self.embedder = Embedder(vocab_size, d_model, max_positions, dropout)
        self.layers = nn.ModuleList(EncoderLayer(d_model, n_heads, ff_dim, dropout, pre_norm) for _ in range(n_layers))
        self.final_norm = nn.LayerNorm(d_model) if pre_norm else nn.Identity()  # pre-norm leaves the sum unnormalised

    @property
    def embedding(self) -> nn.Embedding:
        """The token embedding (the series reads vocabulary sizes from `encoder.embedding`)."""
        return self.embedder.embedding

    def forward(self, src: Tensor, src_lengths: Tensor | None = None, pad_idx: int = 1
                ) -> tuple[Tensor, None, None]:
        """src (S, B) -> memory (S, B, D), None, None (no recurrent state: the decoder protocol's slots)."""
        memory, _ = self.encode(src, pad_idx)
        return memory.transpose(0, 1), None, None

    def encode(self, src: Tensor, pad_idx: int = 1) -> tuple[Tensor, list[Tensor]]:
        """src (S, B) -> memory (B, S, D) and each layer's self-attention weights (B, h, S, S)."""
        mask = padding_mask(src != pad_idx)  # (B, 1, 1, S)
        x, maps = self.embedder(src), []  # (B, S, D)
        for layer in self.layers:
            x, weights = layer(x, mask)
            maps.append(weights)
        return self.final_norm(x), maps


class TransformerState(NamedTuple):
    """What the decoder keeps between steps; batch in dim 1, like every decoder state in the series."""

    memory: Tensor  # (S, B, D): the encoder's output
    mask: Tensor  # (S, B): True at real source tokens
    prefix: Tensor  # (t, B): the decoder's inputs so far, starting with <sos>


class TransformerDecoder(nn.Module):
    """Embed the target so far, n_layers of masked self-attention + cross-attention, project to the vocabulary."""

    has_attention = True

    def __init__(self, vocab_size: int, d_model: int, ff_dim: int, n_layers: int, n_heads: int, dropout: float,
                 pre_norm: bool = True, max_positions: int = 256, tie_embeddings: bool = True) -> None:
        super().__init__()
        self.vocab_size, self.hidden_dim, self.n_layers = vocab_size, d_model, n_layers
        self.embedder = Embedder(vocab_size, d_model, max_positions, dropout)
        self.layers = nn.ModuleList(DecoderLayer(d_model, n_heads, ff_dim, dropout, pre_norm) for _ in range(n_layers))
        self.final_norm = nn.LayerNorm(d_model) if pre_norm else nn.Identity()
        self.fc_out = nn.Linear(d_model, vocab_size)
        if tie_embeddings:  # one matrix both reads tokens in and scores them out (Press & Wolf, 2017)
            self.fc_out.weight = self.embedding.weight

    @property
    def embedding(self) -> nn.Embedding:
        return self.embedder.embedding

    def features(self, trg_in: Tensor, memory: Tensor, src_keep: Tensor) -> tuple[Tensor, list[Tensor]]:
        """trg_in (T, B), memory (S, B, D), src_keep (S, B) -> features (T, B, D) before `fc_out`,
        each layer's cross-attention weights (B, h, T, S)."""
        trg_mask = look_ahead_mask(trg_in.shape[0], trg_in.device)  # (T, T)
        src_mask = padding_mask(src_keep)  # (B, 1, 1, S)
        x, memory_bf, maps = self.embedder(trg_in), memory.transpose(0, 1), []  # (B, T, D), (B, S, D)
        for layer in self.layers:
            x, weights = layer(x, memory_bf, trg_mask, src_mask)
            maps.append(weights)
        return self.final_norm(x).transpose(0, 1), maps

    def forward(self, trg_in: Tensor, memory: Tensor, src_keep: Tensor) -> Tensor:
        """Teacher-forced: trg_in (T, B) -> logits (T, B, V); position t sees trg_in[:t + 1] only."""
        return self.fc_out(self.features(trg_in, memory, src_keep)[0])

    def init_state(self, enc_outputs: Tensor, hidden: None, cell: None, src_mask: Tensor) -> TransformerState:
        """The decoder protocol's start: the memory (S, B, D), the source mask (S, B), no tokens yet."""
        check_src_mask(enc_outputs, src_mask)
        empty = torch.zeros(0, enc_outputs.shape[1], dtype=torch.long, device=enc_outputs.device)
        return TransformerState(enc_outputs, src_mask, empty)

    def step(self, input: Tensor, state: TransformerState) -> tuple[Tensor, TransformerState, Tensor]:
        """The decoder protocol: input (B,) -> logits (B, V), state with the input appended,
        last layer's cross-attention averaged over heads (B, S).

        Plain and slow on purpose: the whole prefix runs again at every step (the engine caches it).
        """
        prefix = torch.cat([state.prefix, input.unsqueeze(0)])  # (t, B)
        features, maps = self.features(prefix, state.memory, state.mask)  # (t, B, D)
        return self.fc_out(features[-1]), state._replace(prefix=prefix), maps[-1][:, :, -1].mean(1)


class Transformer(Seq2Seq):
    """The encoder-decoder Transformer, trained and decoded like every other model in the series."""

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> TransformerState:
        """src (S, B) -> the decoder's first state (lengths are not needed: the padding mask does their job)."""
        memory, _, _ = self.encoder(src, src_lengths, self.pad_idx)  # (S, B, D)
        return self.decoder.init_state(memory, None, None, src != self.pad_idx)

    def forward(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 1.0,
                src_lengths: Tensor | None = None) -> Tensor:
        """src (S, B), trg (T, B) -> logits (T, B, V); row 0 stays zeros, as in Seq2Seq.

        At ratio 1 every position is computed at once: the look-ahead mask gives position t
        exactly the inputs trg[:t + 1] it would see step by step. Below 1 the decoder must read
        its own guesses, which exist only one at a time, so Seq2Seq's step loop runs.
        """
        if teacher_forcing_ratio != 1.0:
            return super().forward(src, trg, teacher_forcing_ratio, src_lengths)
        check_batch(self, src, trg, teacher_forcing_ratio, src_lengths)
        state = self.encode(src, src_lengths)
        logits = self.decoder(trg[:-1], state.memory, state.mask)  # (T-1, B, V): predicts trg[1:]
        return torch.cat([logits.new_zeros(1, *logits.shape[1:]), logits])

    def attention_maps(self, src: Tensor, trg_in: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Every layer's and head's attention for one teacher-forced pass: src (S, B), trg_in (T, B) ->
        encoder self-attention [(B, h, S, S)] * L and decoder cross-attention [(B, h, T, S)] * L."""
        memory, encoder_maps = self.encoder.encode(src, self.pad_idx)  # (B, S, D)
        _, decoder_maps = self.decoder.features(trg_in, memory.transpose(0, 1), src != self.pad_idx)
        return encoder_maps, decoder_maps


def init_transformer(model: Transformer) -> Transformer:
    """Xavier-uniform matrices, zero biases, embeddings N(0, 1/d_model) (scaled by sqrt(d_model) when read)."""
    for name, parameter in model.named_parameters():
        if "embedding" in name:
            nn.init.normal_(parameter, std=parameter.shape[1] ** -0.5)
        elif parameter.dim() > 1:
            nn.init.xavier_uniform_(parameter)
        elif "norm" not in name:
            nn.init.zeros_(parameter)
    return model


__all__ = ["scaled_dot_product_attention", "look_ahead_mask", "padding_mask", "sinusoidal_positions",
           "MultiHeadAttention", "FeedForward", "Residual", "EncoderLayer", "DecoderLayer", "Embedder",
           "TransformerEncoder", "TransformerDecoder", "TransformerState", "Transformer", "init_transformer"]

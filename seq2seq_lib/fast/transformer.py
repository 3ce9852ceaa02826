"""The engine for the Transformer: the textbook modules of `models.transformer`, run faster.

1. Training (`features`): attention by `torch.nn.functional.scaled_dot_product_attention`, one
   fused kernel (flash or memory-efficient on a GPU, a fused CPU kernel) that never stores the
   (T, S) weights; the look-ahead mask is its `is_causal` flag. The loss then goes through the
   engine's fused linear cross-entropy over the non-pad rows.
2. Decoding (`decoder_step`): a key/value cache. The textbook step runs the whole prefix again
   at every step; here each layer keeps the keys and values of the positions already decoded,
   and the source's keys and values for cross-attention are projected once per sentence, so a
   step costs one position. The cache lives in the decoder state (batch in dim 1), so beam
   search reorders it like any other state.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.transformer import (MultiHeadAttention, Transformer, TransformerState, padding_mask,
                                  scaled_dot_product_attention)


def is_transformer(model: nn.Module) -> bool:
    return isinstance(model, Transformer)


def attend(attention: MultiHeadAttention, query: Tensor, key_value: Tensor, mask: Tensor | None = None,
           causal: bool = False) -> Tensor:
    """The module's attention by the fused kernel: query (B, Tq, D), key_value (B, Tk, D) -> (B, Tq, D)."""
    q = attention.split_heads(attention.q_proj(query))  # (B, h, Tq, D/h)
    k, v = attention.split_heads(attention.k_proj(key_value)), attention.split_heads(attention.v_proj(key_value))
    p = attention.dropout.p if attention.training else 0.0
    heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal)
    return attention.out_proj(heads.transpose(1, 2).reshape(query.shape[0], query.shape[1], -1))


def encode(model: Transformer, src: Tensor) -> tuple[Tensor, Tensor]:
    """src (S, B) -> memory (B, S, D) and the padding mask (B, 1, 1, S)."""
    encoder = model.encoder
    mask = padding_mask(src != model.pad_idx)
    x = encoder.embedder(src)  # (B, S, D)
    for layer in encoder.layers:
        x, _ = layer.attention_block(x, lambda h: (attend(layer.self_attention, h, h, mask), None))
        x, _ = layer.ff_block(x, lambda h: (layer.feed_forward(h), None))
    return encoder.final_norm(x), mask


def features(model: Transformer, src: Tensor, trg_in: Tensor) -> Tensor:
    """Teacher-forced decoder features: src (S, B), trg_in (T, B) -> (T, B, D) before `fc_out`."""
    memory, src_mask = encode(model, src)
    decoder = model.decoder
    x = decoder.embedder(trg_in)  # (B, T, D)
    for layer in decoder.layers:
        x, _ = layer.self_block(x, lambda h: (attend(layer.self_attention, h, h, causal=True), None))
        x, _ = layer.cross_block(x, lambda h: (attend(layer.cross_attention, h, memory, src_mask), None))
        x, _ = layer.ff_block(x, lambda h: (layer.feed_forward(h), None))
    return decoder.final_norm(x).transpose(0, 1)


class CachedState(NamedTuple):
    """A Transformer decoder state with its caches; every tensor has the batch in dim 1."""

    memory: Tensor  # (S, B, D)
    mask: Tensor  # (S, B)
    prefix: Tensor  # (t, B)
    self_keys: tuple[Tensor, ...]  # per layer (t, B, D): projected keys of the positions decoded so far
    self_values: tuple[Tensor, ...]  # per layer (t, B, D)
    cross_keys: tuple[Tensor, ...]  # per layer (S, B, D): the source's keys, projected once
    cross_values: tuple[Tensor, ...]  # per layer (S, B, D)


def _cached(model: Transformer, state: TransformerState) -> CachedState:
    """Start the caches from the textbook's first state (no tokens decoded yet)."""
    if state.prefix.shape[0]:
        raise ValueError("The engine's cache starts from a fresh state (model.encode); this one has "
                         f"{state.prefix.shape[0]} decoded tokens. Decode with one engine setting throughout.")
    layers = model.decoder.layers
    empty = state.memory.new_zeros(0, *state.memory.shape[1:])  # (0, B, D)
    return CachedState(state.memory, state.mask, state.prefix, (empty,) * len(layers), (empty,) * len(layers),
                       tuple(layer.cross_attention.k_proj(state.memory) for layer in layers),
                       tuple(layer.cross_attention.v_proj(state.memory) for layer in layers))


def _attend_cached(attention: MultiHeadAttention, query: Tensor, keys: Tensor, values: Tensor,
                   mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """One query per sentence: query (B, 1, D), keys/values (K, B, D) -> output (B, 1, D), weights (B, h, 1, K)."""
    q = attention.split_heads(attention.q_proj(query))  # (B, h, 1, D/h)
    k, v = attention.split_heads(keys.transpose(0, 1)), attention.split_heads(values.transpose(0, 1))
    heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, h, 1, D/h)
    return attention.out_proj(heads.transpose(1, 2).reshape(query.shape[0], 1, -1)), weights


def decoder_step(model: Transformer, input: Tensor, state: TransformerState | CachedState
                 ) -> tuple[Tensor, CachedState, Tensor]:
    """`model.decoder.step` with caches: input (B,) -> logits (B, V), state, weights (B, S). Eval mode only."""
    if model.training:
        raise ValueError("The cached Transformer step decodes in eval mode; call it inside decode.evaluating(model).")
    if isinstance(state, TransformerState):
        state = _cached(model, state)
    decoder, position = model.decoder, state.prefix.shape[0]
    embedder = decoder.embedder
    if position >= embedder.positions.shape[0]:
        raise ValueError(f"Decoding past the {embedder.positions.shape[0]} positions this Transformer was built "
                         "for; lower max_len.")
    x = (embedder.embedding(input) * embedder.scale + embedder.positions[position]).unsqueeze(1)  # (B, 1, D)
    src_mask = padding_mask(state.mask)  # (B, 1, 1, S)
    self_keys, self_values, weights = [], [], None
    for i, layer in enumerate(decoder.layers):
        h = layer.self_block.norm(x) if layer.self_block.pre_norm else x
        keys = torch.cat([state.self_keys[i], layer.self_attention.k_proj(h).transpose(0, 1)])  # (t+1, B, D)
        values = torch.cat([state.self_values[i], layer.self_attention.v_proj(h).transpose(0, 1)])
        self_keys.append(keys)
        self_values.append(values)
        x, _ = layer.self_block(x, lambda h: _attend_cached(layer.self_attention, h, keys, values, None))
        x, weights = layer.cross_block(x, lambda h: _attend_cached(layer.cross_attention, h, state.cross_keys[i],
                                                                   state.cross_values[i], src_mask))
        x, _ = layer.ff_block(x, lambda h: (layer.feed_forward(h), None))
    logits = decoder.fc_out(decoder.final_norm(x)[:, 0])  # (B, V)
    prefix = torch.cat([state.prefix, input.unsqueeze(0)])
    new_state = state._replace(prefix=prefix, self_keys=tuple(self_keys), self_values=tuple(self_values))
    return logits, new_state, weights[:, :, 0].mean(1)  # (B, S): last layer, averaged over heads


__all__ = ["is_transformer", "attend", "encode", "features", "CachedState", "decoder_step"]

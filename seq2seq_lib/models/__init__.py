"""The models the series teaches, one file per family, all following one decoder protocol.

Read in this order: `layers` (shared pieces), `classic` (Encoder, Decoder), `seq2seq` (the
teacher-forced loop and its loss), `context` (Cho et al.: the encoder's summary at every decoder
step), `attention` (Bahdanau), `transformer` (Vaswani et al.: attention only). The code here is the textbook:
plain PyTorch modules, one decoder step at a time. `seq2seq_lib.fast` runs these same modules
faster and is tested to give the same losses and gradients.

Decoder protocol (what `Seq2Seq`, decoding and the engine need from a decoder):
`init_state(enc_outputs, hidden, cell, src_mask) -> state` and
`step(input (B,), state) -> (logits (B, V), new state, attention weights (B, S) or None)`;
every tensor in a state has the batch in dim 1.
"""
from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from .attention import AdditiveAttention, AttentionDecoder, AttentionState, BiEncoder, masked_softmax
from .classic import Decoder, Encoder
from .context import ContextDecoder, ContextState
from .layers import INIT_RANGE, init_uniform
from .seq2seq import Seq2Seq, teacher_forcing_coins
from .transformer import Transformer, TransformerDecoder, TransformerEncoder, TransformerState, init_transformer


def build_model(config: ModelConfig, src_vocab_size: int, trg_vocab_size: int,
                pad_idx: int = 1, sos_idx: int = 2) -> Seq2Seq:
    """The Seq2Seq a ModelConfig describes (classic; Cho et al.'s when config.feed_context; Bahdanau
    when config.attention; the Transformer when config.transformer), with its initial weights."""
    if not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig, got {type(config).__name__}.")
    for name, idx in (("pad_idx", pad_idx), ("sos_idx", sos_idx)):
        if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            raise ValueError(f"{name} must be a token id (an integer >= 0, e.g. data.{name}), got {idx!r}.")
    for name, size in (("src_vocab_size", src_vocab_size), ("trg_vocab_size", trg_vocab_size)):
        if isinstance(size, bool) or not isinstance(size, int) or size < 4 or size <= max(pad_idx, sos_idx):
            raise ValueError(f"{name} must be an integer >= 4 (the specials <unk> <pad> <sos> <eos> "
                             f"take ids 0..3), got {size!r}; pass len(vocab).")
    if config.transformer:
        sizes = (config.emb_dim, config.hidden_dim, config.n_layers, config.n_heads, config.dropout,
                 config.pre_norm, config.max_positions)
        return init_transformer(Transformer(TransformerEncoder(src_vocab_size, *sizes),
                                            TransformerDecoder(trg_vocab_size, *sizes, config.tie_embeddings),
                                            pad_idx, sos_idx))
    encoder_class, decoder_class = ((BiEncoder, AttentionDecoder) if config.attention else
                                    (Encoder, ContextDecoder) if config.feed_context else (Encoder, Decoder))
    sizes = (config.emb_dim, config.hidden_dim, config.n_layers, config.dropout, config.rnn_type)
    model = Seq2Seq(encoder_class(src_vocab_size, *sizes), decoder_class(trg_vocab_size, *sizes),
                    pad_idx, sos_idx)
    return init_uniform(model)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    >>> count_parameters(nn.Linear(512, 10))
    5130
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["Encoder", "Decoder", "ContextDecoder", "ContextState", "Seq2Seq", "BiEncoder", "AdditiveAttention", "AttentionState",
           "AttentionDecoder", "masked_softmax", "teacher_forcing_coins", "Transformer", "TransformerEncoder",
           "TransformerDecoder", "TransformerState", "build_model", "count_parameters",
           "INIT_RANGE"]

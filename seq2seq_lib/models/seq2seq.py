"""Seq2Seq: encode the source, then decode step by step with teacher forcing; and its loss.

Any encoder-decoder pair that follows the decoder protocol plugs in:
`decoder.init_state(enc_outputs, hidden, cell, src_mask) -> state` and
`decoder.step(input (B,), state) -> (logits (B, V), new state, attention weights (B, S) or None)`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def teacher_forcing_coins(n_steps: int, teacher_forcing_ratio: float,
                          generator: torch.Generator | None = None) -> list[bool]:
    """One coin per decoder step, shared by the batch: True -> feed the gold token next.

    The coins come from `generator`, by default torch's global CPU generator. Ratios 0 and 1
    need no coins and leave the generator untouched.

    >>> teacher_forcing_coins(3, 1.0), teacher_forcing_coins(2, 0.0)
    ([True, True, True], [False, False])
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}.")
    if isinstance(teacher_forcing_ratio, bool) or not 0.0 <= teacher_forcing_ratio <= 1.0:
        raise ValueError(f"teacher_forcing_ratio must be in [0, 1], got {teacher_forcing_ratio!r}.")
    if teacher_forcing_ratio in (0.0, 1.0):
        return [teacher_forcing_ratio == 1.0] * n_steps
    return (torch.rand(n_steps, generator=generator) < teacher_forcing_ratio).tolist()


class Seq2Seq(nn.Module):
    """An encoder and a decoder, trained with teacher forcing."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, pad_idx: int = 1, sos_idx: int = 2) -> None:
        super().__init__()
        if encoder.hidden_dim != decoder.hidden_dim or encoder.n_layers != decoder.n_layers:
            raise ValueError(
                f"Encoder (hidden_dim={encoder.hidden_dim}, n_layers={encoder.n_layers}) and decoder "
                f"(hidden_dim={decoder.hidden_dim}, n_layers={decoder.n_layers}) must match; "
                "build both from one ModelConfig with build_model().")
        self.encoder, self.decoder = encoder, decoder
        self.pad_idx, self.sos_idx = pad_idx, sos_idx

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> object:
        """src (S, B) -> the decoder's first state."""
        enc_outputs, hidden, cell = self.encoder(src, src_lengths)  # (S, B, H or 2H), (L, B, H)
        return self.decoder.init_state(enc_outputs, hidden, cell, src != self.pad_idx)

    def forward(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5,
                src_lengths: Tensor | None = None) -> Tensor:
        """src (S, B), trg (T, B) -> logits (T, B, V); row 0 stays zeros (nothing predicts <sos>)."""
        check_batch(self, src, trg, teacher_forcing_ratio, src_lengths)
        trg_len, batch_size = trg.shape
        coins = teacher_forcing_coins(trg_len - 1, teacher_forcing_ratio)
        outputs = torch.zeros(trg_len, batch_size, self.decoder.vocab_size, device=trg.device)
        state = self.encode(src, src_lengths)
        input = trg[0]  # (B,): <sos>
        for t in range(1, trg_len):
            logits, state, _ = self.decoder.step(input, state)  # (B, V)
            outputs[t] = logits
            input = trg[t] if coins[t - 1] else logits.argmax(-1)  # gold token, or the model's own guess
        return outputs

    def loss(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5,
             src_lengths: Tensor | None = None,
             criterion: Callable[[Tensor, Tensor], Tensor] | None = None) -> tuple[Tensor, int]:
        """Mean cross-entropy per non-pad target token over outputs[1:] vs trg[1:], and that token count."""
        criterion = check_criterion(criterion, self.pad_idx)
        outputs = self(src, trg, teacher_forcing_ratio, src_lengths)  # (T, B, V)
        vocab_size = outputs.shape[-1]
        loss = criterion(outputs[1:].reshape(-1, vocab_size), trg[1:].reshape(-1))  # row 0 is no prediction
        return loss, int((trg[1:] != self.pad_idx).sum())


def check_criterion(criterion: Callable | None, pad_idx: int) -> Callable:
    """The criterion, or CrossEntropyLoss(ignore_index=pad_idx) for None; refuses one that scores padding."""
    if criterion is None:
        return nn.CrossEntropyLoss(ignore_index=pad_idx)
    if not callable(criterion):
        raise TypeError(f"criterion must be a loss module such as nn.CrossEntropyLoss(ignore_index={pad_idx}), "
                        f"got {criterion!r}.")
    if isinstance(criterion, nn.NLLLoss):  # it would read the logits as log-probabilities: a meaningless loss
        raise ValueError(f"NLLLoss expects log-probabilities, but the model returns logits; use "
                         f"nn.CrossEntropyLoss(ignore_index={pad_idx}), which is log_softmax and NLLLoss in one.")
    if getattr(criterion, "ignore_index", pad_idx) != pad_idx:
        raise ValueError(f"criterion ignores index {criterion.ignore_index} but the model's pad_idx is "
                         f"{pad_idx}, so padding would count in the loss; use "
                         f"CrossEntropyLoss(ignore_index={pad_idx}).")
    return criterion


def check_lengths(src: Tensor, src_lengths: Tensor | None) -> None:
    """src_lengths is None or an integer tensor of shape (batch,)."""
    if src_lengths is None:
        return
    if not isinstance(src_lengths, Tensor):
        raise TypeError(f"src_lengths must be a tensor of shape ({src.shape[1]},), got "
                        f"{type(src_lengths).__name__}; wrap it with torch.tensor(lengths).")
    if src_lengths.dtype == torch.bool or src_lengths.is_floating_point() or src_lengths.is_complex():
        raise TypeError(f"src_lengths must hold integers, got {src_lengths.dtype}; use .long().")
    if tuple(src_lengths.shape) != (src.shape[1],):
        raise ValueError(f"src_lengths must have shape ({src.shape[1]},), one length per column of src, "
                         f"got {tuple(src_lengths.shape)}.")


def check_batch(model: Seq2Seq, src: Tensor, trg: Tensor, teacher_forcing_ratio: float,
                src_lengths: Tensor | None) -> None:
    """Shapes, dtypes, ratio and token ids of a training batch, with messages that say how to fix them."""
    for name, x in (("src", src), ("trg", trg)):
        if not isinstance(x, Tensor) or x.dim() != 2 or x.dtype != torch.long:
            raise ValueError(f"{name} must be a LongTensor shaped (seq_len, batch); got "
                             f"{getattr(x, 'dtype', type(x))} {tuple(getattr(x, 'shape', ()))}. "
                             "Batches are time-major: transpose a (batch, seq_len) tensor with .t().")
    if src.shape[1] != trg.shape[1]:
        raise ValueError(f"src and trg batch sizes differ ({src.shape[1]} vs {trg.shape[1]}); "
                         "both must be shaped (seq_len, batch) with the same batch.")
    if trg.shape[0] < 2:
        raise ValueError(f"trg needs at least 2 rows (<sos> and one token), got {trg.shape[0]}.")
    if 0 in src.shape:
        raise ValueError(f"src is empty (shape {tuple(src.shape)}); every sentence needs at least <sos> and <eos>.")
    if (isinstance(teacher_forcing_ratio, bool) or not isinstance(teacher_forcing_ratio, (int, float))
            or not 0.0 <= teacher_forcing_ratio <= 1.0):
        raise ValueError(f"teacher_forcing_ratio must be a number in [0, 1], got {teacher_forcing_ratio!r}.")
    check_lengths(src, src_lengths)
    # one read-back for all four bounds: on a GPU each read waits for the queued work
    checked = [(name, x, size) for name, x, size in (("src", src, model.encoder.embedding.num_embeddings),
                                                     ("trg", trg, model.decoder.vocab_size)) if x.numel()]
    bounds = [b for _, x, _ in checked for b in (x.min(), x.max())]
    if src_lengths is not None:
        bounds += [src_lengths.min().to(src.device, torch.long), src_lengths.max().to(src.device, torch.long)]
    bounds = torch.stack([b.to(src.device, torch.long) for b in bounds]).tolist() if bounds else []
    if src_lengths is not None and (bounds[-2] < 1 or bounds[-1] > src.shape[0]):
        raise ValueError(f"src_lengths must be in [1, {src.shape[0]}] (src has {src.shape[0]} rows), got values "
                         f"from {bounds[-2]} to {bounds[-1]}; give each sentence's length with <sos> and <eos>, "
                         "as Field.process returns it.")
    for (name, _, size), low, high in zip(checked, bounds[::2], bounds[1::2]):
        if low < 0 or high >= size:
            raise ValueError(f"{name} holds token ids outside [0, {size}); the model was built for "
                             f"a vocabulary of {size}: numericalize with the same Vocab.")


__all__ = ["Seq2Seq", "teacher_forcing_coins", "check_batch", "check_lengths", "check_criterion"]

"""Encoder, Decoder and Seq2Seq: the classic LSTM encoder-decoder, built for fast training.

Tensors are time-major: `src` is (S, B), `trg` is (T, B). The decoder has the classic
one-step `forward(input, hidden, cell)` for teaching, and a multi-step `run` that feeds a
whole block of known inputs to the RNN in one call (a block of one step, or a few on a CPU,
goes through the LSTM cell function instead, skipping the call's fixed set-up cost: see
`rnn_step`). `Seq2Seq` uses `run` for every stretch of teacher-forced steps and projects onto
the vocabulary only where it must.

Decoder protocol (what `Seq2Seq` needs, so an attention decoder can plug in):
`init_state(enc_outputs, hidden, cell, src_mask) -> state`,
`run(inputs (k, B), state) -> (features (k, B, F), state)`, `project(features) -> logits`.
A decoder with an nn.Linear `fc_out` must have `project == fc_out`: `Seq2Seq.loss` fuses it.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig
from .dropout import Dropout
from .rnn_step import run_rnn
from .utils import autocast_state

INIT_RANGE = 0.08
RNN_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU}


def _compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype matmuls run in: autocast's when it is on for x's device, else x's own."""
    enabled, dtype = autocast_state(x.device.type)
    return dtype if enabled else x.dtype


def _chunk_rows(vocab_size: int, device: torch.device) -> int:
    """Rows per chunk so a (rows, V) fp32 block stays small (16 MB on CPU: no page-fault storms)."""
    budget = 2 ** 26 if device.type == "cuda" else 2 ** 22  # elements
    return max(1, budget // vocab_size)


class _LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of x @ W.T + b, chunk by chunk; gradients are found during forward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor, targets: Tensor,
                dtype: torch.dtype) -> Tensor:
        n, chunk = x.shape[0], _chunk_rows(weight.shape[0], x.device)
        w, b, xs = weight.to(dtype), bias.to(dtype), x.to(dtype)
        grad_x = torch.empty(x.shape, dtype=torch.float32, device=x.device)  # (N, H)
        grad_w_t = torch.zeros(weight.shape[::-1], dtype=torch.float32, device=x.device)  # (H, V)
        grad_b = torch.zeros(bias.shape, dtype=torch.float32, device=x.device)  # (V,)
        total = torch.zeros((), dtype=torch.float32, device=x.device)
        for start in range(0, n, chunk):
            rows, gold = xs[start:start + chunk], targets[start:start + chunk, None]  # (c, H), (c, 1)
            log_probs = torch.log_softmax(torch.addmm(b, rows, w.t()), -1, dtype=torch.float32)  # (c, V)
            total -= log_probs.gather(1, gold).sum()
            probs = log_probs.exp_().scatter_add_(1, gold, gold.new_full(gold.shape, -1, dtype=torch.float32))
            g = probs.to(dtype)  # softmax - onehot, unscaled so fp16 cannot underflow
            grad_x[start:start + chunk] = g @ w
            grad_w_t += (rows.t().contiguous() @ g).float()  # (H, V): the fast layout on CPU
            grad_b += probs.sum(0)
        ctx.save_for_backward(grad_x.div_(n), grad_w_t.t().div_(n), grad_b.div_(n))
        return total / n

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        grad_x, grad_w, grad_b = ctx.saved_tensors
        return grad_x * grad_out, grad_w * grad_out, grad_b * grad_out, None, None


def linear_cross_entropy(x: Tensor, weight: Tensor, bias: Tensor, targets: Tensor) -> Tensor:
    """F.cross_entropy(F.linear(x, weight, bias), targets) for x (N, H), never holding (N, V) at once.

    >>> x, w, b, y = torch.randn(5, 3), torch.randn(7, 3), torch.randn(7), torch.tensor([0, 6, 2, 2, 1])
    >>> torch.testing.assert_close(linear_cross_entropy(x, w, b, y), F.cross_entropy(F.linear(x, w, b), y),
    ...                            rtol=1e-5, atol=1e-6)  # two summation orders: fp32 rounding only
    """
    if x.shape[0] == 0:
        raise ValueError("No target tokens to score: every row of trg[1:] is padding.")
    dtype = _compute_dtype(x)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or bias.requires_grad):
        return _LinearCrossEntropy.apply(x, weight, bias, targets, dtype)
    chunk, total = _chunk_rows(weight.shape[0], x.device), x.new_zeros((), dtype=torch.float32)
    for start in range(0, x.shape[0], chunk):
        logits = F.linear(x[start:start + chunk].to(dtype), weight.to(dtype), bias.to(dtype))  # (c, V)
        total += F.cross_entropy(logits.float(), targets[start:start + chunk], reduction="sum")
    return total / x.shape[0]


def _make_rnn(rnn_type: str, emb_dim: int, hidden_dim: int, n_layers: int, dropout: float) -> nn.RNNBase:
    if rnn_type not in RNN_CLASSES:
        raise ValueError(f"rnn_type must be one of {tuple(RNN_CLASSES)}, got {rnn_type!r}.")
    inter_layer = dropout if n_layers > 1 else 0.0  # PyTorch warns about dropout on one layer
    return RNN_CLASSES[rnn_type](emb_dim, hidden_dim, n_layers, dropout=inter_layer)


def _pack_state(hidden: Tensor, cell: Tensor | None) -> Tensor | tuple[Tensor, Tensor]:
    return hidden if cell is None else (hidden, cell)


def _unpack_state(state: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor | None]:
    return (state[0], state[1]) if isinstance(state, tuple) else (state, None)


class Encoder(nn.Module):
    """Embedding -> dropout -> multi-layer LSTM/GRU over the source sentence."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "lstm") -> None:
        super().__init__()
        self.hidden_dim, self.n_layers, self.rnn_type = hidden_dim, n_layers, rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = _make_rnn(rnn_type, emb_dim, hidden_dim, n_layers, dropout)
        self.dropout = Dropout(dropout)

    def forward(self, src: Tensor, src_lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """src (S, B) -> outputs (S, B, H), hidden (L, B, H), cell (L, B, H) or None for GRU.

        With `src_lengths` (B,) the padding is skipped, so each sentence's final state is
        taken at its own last token and padding cannot change the result. A batch with no
        padding skips the packing (packed sequences are slower on CPU).
        """
        embedded = self.dropout(self.embedding(src))  # (S, B, E)
        if src_lengths is None or bool((src_lengths == src.shape[0]).all()):
            outputs, state = self.rnn(embedded)  # (S, B, H)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(
                embedded, src_lengths.cpu(), enforce_sorted=False)
            packed_outputs, state = self.rnn(packed)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(
                packed_outputs, total_length=src.shape[0])  # (S, B, H), zeros past each length
        hidden, cell = _unpack_state(state)  # (L, B, H) each
        return outputs, hidden, cell


class Decoder(nn.Module):
    """Embedding -> dropout -> multi-layer LSTM/GRU -> Linear onto the target vocabulary."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int,
                 dropout: float, rnn_type: str = "lstm") -> None:
        super().__init__()
        self.vocab_size, self.hidden_dim, self.n_layers = vocab_size, hidden_dim, n_layers
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = _make_rnn(rnn_type, emb_dim, hidden_dim, n_layers, dropout)
        self.fc_out = nn.Linear(hidden_dim, vocab_size)
        self.dropout = Dropout(dropout)

    def init_state(self, enc_outputs: Tensor, hidden: Tensor, cell: Tensor | None,
                   src_mask: Tensor) -> Any:
        """The decoder's starting state from the encoder: here just its final (hidden, cell)."""
        return _pack_state(hidden, cell)

    def run(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        """inputs (k, B) known tokens -> top-layer outputs (k, B, H), new state; no projection."""
        embedded = self.dropout(self.embedding(inputs))  # (k, B, E)
        outputs, state = run_rnn(self.rnn, embedded, state)  # (k, B, H)
        return outputs, state

    def project(self, features: Tensor) -> Tensor:
        """features (..., H) -> logits (..., V)."""
        return self.fc_out(features)

    def forward(self, input: Tensor, hidden: Tensor, cell: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One step: input (B,), hidden/cell (L, B, H) -> logits (B, V), hidden, cell."""
        outputs, state = self.run(input.unsqueeze(0), _pack_state(hidden, cell))  # (1, B, H)
        hidden, cell = _unpack_state(state)
        return self.project(outputs.squeeze(0)), hidden, cell  # (B, V)


class Seq2Seq(nn.Module):
    """Encoder + decoder trained with teacher forcing (one coin flip per step, shared by the batch)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, pad_idx: int = 1, sos_idx: int = 2) -> None:
        super().__init__()
        if encoder.hidden_dim != decoder.hidden_dim or encoder.n_layers != decoder.n_layers:
            raise ValueError(
                f"Encoder (hidden_dim={encoder.hidden_dim}, n_layers={encoder.n_layers}) and decoder "
                f"(hidden_dim={decoder.hidden_dim}, n_layers={decoder.n_layers}) must match; "
                "build both from one ModelConfig with build_model().")
        self.encoder, self.decoder = encoder, decoder
        self.pad_idx, self.sos_idx = pad_idx, sos_idx

    def _check_inputs(self, src: Tensor, trg: Tensor, ratio: float, src_lengths: Tensor | None) -> None:
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
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"teacher_forcing_ratio must be in [0, 1], got {ratio!r}.")
        if src_lengths is not None and tuple(src_lengths.shape) != (src.shape[1],):
            raise ValueError(f"src_lengths must have shape ({src.shape[1]},), got {tuple(src_lengths.shape)}.")
        # one read-back for all four bounds: on a GPU each read waits for the queued work
        checked = [(name, x, size) for name, x, size in (("src", src, self.encoder.embedding.num_embeddings),
                                                         ("trg", trg, self.decoder.vocab_size)) if x.numel()]
        bounds = torch.stack([b for _, x, _ in checked for b in (x.min(), x.max())]).tolist() if checked else []
        for (name, _, size), low, high in zip(checked, bounds[::2], bounds[1::2]):
            if low < 0 or high >= size:
                raise ValueError(f"{name} holds token ids outside [0, {size}); the model was built for "
                                 f"a vocabulary of {size}: numericalize with the same Vocab.")

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> Any:
        """src (S, B) -> the decoder's starting state."""
        enc_outputs, hidden, cell = self.encoder(src, src_lengths)  # (S, B, H), (L, B, H)
        return self.decoder.init_state(enc_outputs, hidden, cell, src != self.pad_idx)

    def decode_features(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5,
                        src_lengths: Tensor | None = None) -> Tensor:
        """Decoder features (T-1, B, F) for output rows 1..T-1, before the vocabulary projection.

        Input to step 1 is trg[0]; after each step a coin (torch's CPU RNG, shared by the batch)
        picks the gold token with probability `teacher_forcing_ratio`, else the model's argmax.
        Consecutive gold inputs go through the RNN in one call.
        """
        self._check_inputs(src, trg, teacher_forcing_ratio, src_lengths)
        n_steps = trg.shape[0] - 1
        if 0.0 < teacher_forcing_ratio < 1.0:  # gold[i-1]: is step i's input the gold token?
            gold = (torch.rand(n_steps) < teacher_forcing_ratio).tolist()
        else:  # ratios 0 and 1 need no coins (and leave the RNG untouched)
            gold = [teacher_forcing_ratio == 1.0] * n_steps
        state = self.encode(src, src_lengths)
        blocks: list[Tensor] = []
        start, first = 0, trg[:1]  # (1, B): <sos>
        while start < n_steps:
            end = start + 1
            while end < n_steps and gold[end - 1]:
                end += 1
            inputs = trg[:end] if start == 0 else torch.cat([first, trg[start + 1:end]])  # (k, B)
            features, state = self.decoder.run(inputs, state)  # (k, B, F)
            blocks.append(features)
            if end < n_steps:  # the next input is the model's own prediction
                with torch.no_grad():
                    first = self.decoder.project(features[-1]).max(-1).indices.unsqueeze(0)  # (1, B) argmax
            start = end
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks)  # (T-1, B, F)

    def forward(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5,
                src_lengths: Tensor | None = None) -> Tensor:
        """src (S, B), trg (T, B) -> logits (T, B, V); row 0 is all zeros (nothing predicts <sos>)."""
        features = self.decode_features(src, trg, teacher_forcing_ratio, src_lengths)  # (T-1, B, F)
        logits = self.decoder.project(features)  # (T-1, B, V)
        return torch.cat([logits.new_zeros((1,) + logits.shape[1:]), logits])  # (T, B, V)

    def loss(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5,
             src_lengths: Tensor | None = None,
             criterion: Callable[[Tensor, Tensor], Tensor] | None = None) -> tuple[Tensor, int]:
        """Mean cross-entropy per non-pad target token and that token count.

        Equals CrossEntropyLoss(ignore_index=pad)(forward(...)[1:].view(-1, V), trg[1:].view(-1))
        but projects only the rows where trg[1:] is not <pad>, in one matmul.
        """
        ignore = getattr(criterion, "ignore_index", self.pad_idx)
        if ignore not in (self.pad_idx, -100):
            raise ValueError(f"criterion ignores index {ignore} but the model's pad_idx is "
                             f"{self.pad_idx}; use CrossEntropyLoss(ignore_index={self.pad_idx}).")
        features = self.decode_features(src, trg, teacher_forcing_ratio, src_lengths)  # (T-1, B, F)
        gold = trg[1:]  # (T-1, B)
        keep = gold != self.pad_idx  # (T-1, B)
        rows, targets = features[keep], gold[keep]  # (N, F), (N,): only the non-pad tokens
        if _is_plain_cross_entropy(criterion) and isinstance(getattr(self.decoder, "fc_out", None), nn.Linear):
            fc = self.decoder.fc_out
            loss = linear_cross_entropy(rows, fc.weight, fc.bias, targets)
        else:
            loss = criterion(self.decoder.project(rows), targets)  # (N, V) logits
        return loss, int(targets.numel())


def _is_plain_cross_entropy(criterion: Any) -> bool:
    """True when criterion is None or an unweighted, unsmoothed, mean CrossEntropyLoss."""
    return criterion is None or (type(criterion) is nn.CrossEntropyLoss and criterion.weight is None
                                 and criterion.label_smoothing == 0.0 and criterion.reduction == "mean")


def build_model(config: ModelConfig, src_vocab_size: int, trg_vocab_size: int,
                pad_idx: int = 1, sos_idx: int = 2) -> Seq2Seq:
    """A Seq2Seq from a ModelConfig, every weight drawn from uniform(-0.08, 0.08)."""
    if not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig, got {type(config).__name__}.")
    if config.attention:
        raise ValueError("build_model builds the plain encoder-decoder; for attention=True use the "
                         "builder in seq2seq_lib.attention, or pass replace(config, attention=False).")
    for name, size in (("src_vocab_size", src_vocab_size), ("trg_vocab_size", trg_vocab_size)):
        if isinstance(size, bool) or not isinstance(size, int) or size < 4 or size <= max(pad_idx, sos_idx):
            raise ValueError(f"{name} must be an integer >= 4 (the specials <unk> <pad> <sos> <eos> "
                             f"take ids 0..3), got {size!r}; pass len(vocab).")
    sizes = (config.emb_dim, config.hidden_dim, config.n_layers, config.dropout, config.rnn_type)
    model = Seq2Seq(Encoder(src_vocab_size, *sizes), Decoder(trg_vocab_size, *sizes), pad_idx, sos_idx)
    for param in model.parameters():
        nn.init.uniform_(param, -INIT_RANGE, INIT_RANGE)
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    >>> count_parameters(nn.Linear(512, 10))
    5130
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["Encoder", "Decoder", "Seq2Seq", "build_model", "count_parameters",
           "linear_cross_entropy"]

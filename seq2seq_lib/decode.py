"""Batched greedy decoding and beam search, for the classic and the attention model alike.

Both encode the source once and then call `decoder_step(model, input (B,), state)`, which
gives log-probabilities, the new state and (for attention models) the attention weights.
Every tensor in a decoder state has the batch in dim 1, so `select_state` can keep, drop,
repeat or reorder sentences and beams with one `index_select` per tensor.

Returned sequences hold the generated ids without `<sos>`; they end with `<eos>` when the model
produced it, and are at most `max_len` ids long (the `<eos>` counts).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import fast as engine
from .models.seq2seq import check_lengths


class Decoded(NamedTuple):
    """Per sentence: token ids, total log-probability (beam: length-normalised) and attention (T, S) or None."""

    tokens: list[list[int]]
    scores: list[float]
    attention: list[Tensor] | None


def has_attention(model: nn.Module) -> bool:
    """Whether the model's decoder reports attention weights (see seq2seq_lib.models.attention)."""
    return bool(getattr(getattr(model, "decoder", None), "has_attention", False))


def select_state(state: Any, index: Tensor) -> Any:
    """Keep/reorder/repeat batch rows of a decoder state (a tensor or nested tuple, batch in dim 1).

    >>> select_state((torch.arange(6).view(1, 3, 2), None), torch.tensor([2, 0]))[0].tolist()
    [[[4, 5], [0, 1]]]
    """
    if state is None:
        return None
    if not isinstance(index, Tensor) or index.dim() != 1 or index.is_floating_point():
        raise TypeError(f"index must be a 1-D tensor of batch rows, e.g. torch.tensor([2, 0]), got {index!r}.")
    if isinstance(state, Tensor):
        return state.index_select(1, index)
    if isinstance(state, tuple):
        parts = [select_state(part, index) for part in state]
        return type(state)._make(parts) if hasattr(state, "_make") else tuple(parts)
    raise TypeError(f"Cannot select rows of a decoder state part of type {type(state).__name__}; "
                    "states must be tensors (batch in dim 1), None, or tuples of those.")


def decoder_step(model: nn.Module, input: Tensor, state: Any, fast: bool = True
                 ) -> tuple[Tensor, Any, Tensor | None]:
    """input (B,) -> log_probs (B, V) in float32, new state, attention (B, S) or None."""
    logits, state, attn = _decoder_logits(model, input, state, fast)
    return F.log_softmax(logits, dim=-1), state, attn


def _decoder_logits(model: nn.Module, input: Tensor, state: Any, fast: bool
                    ) -> tuple[Tensor, Any, Tensor | None]:
    """One decoder step by the engine (fast) or the textbook decoder: logits (B, V) in float32."""
    if not isinstance(input, Tensor) or input.dim() != 1 or input.dtype != torch.long:
        raise ValueError(f"input must be a LongTensor of shape (batch,) holding one token id per row, got "
                         f"{getattr(input, 'dtype', type(input))} {tuple(getattr(input, 'shape', ()))}; "
                         "start with torch.full((batch,), sos_idx).")
    if state is None:
        raise ValueError("state is None: the first state comes from the encoder, state = model.encode(src, "
                         "src_lengths); each step then returns the next one.")
    step = engine.decoder_step(model, input, state) if fast else model.decoder.step(input, state)
    logits, state, attn = step  # (B, V), state, (B, S) or None
    return logits.float(), state, attn


@contextmanager
def evaluating(model: nn.Module, device: torch.device | None = None, fast: bool = True) -> Iterator[None]:
    """Eval mode (no dropout) and no autograd inside; the model's previous mode is restored after.

    With `fast` the engine's inference switches apply too (see `seq2seq_lib.fast.inference`).
    """
    if fast:
        with engine.inference(model, device):
            yield
        return
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _check(model: nn.Module, src: Tensor, src_lengths: Tensor | None, max_len: int,
           sos_idx: int, eos_idx: int) -> None:
    if not (hasattr(model, "encode") and hasattr(model, "decoder")):
        raise TypeError(f"Expected a Seq2Seq model (with .encode and .decoder), got {type(model).__name__}; "
                        "build one with models.build_model.")
    if not isinstance(src, Tensor) or src.dim() != 2 or src.dtype != torch.long or 0 in src.shape:
        raise ValueError(f"src must be a non-empty LongTensor shaped (seq_len, batch), got "
                         f"{getattr(src, 'dtype', type(src))} {tuple(getattr(src, 'shape', ()))}; "
                         "use Field.process(sentences) (or .t() a (batch, seq_len) tensor).")
    check_lengths(src, src_lengths)
    check_decode_options(max_len=max_len)
    vocab_size = model.decoder.vocab_size
    for name, idx in (("sos_idx", sos_idx), ("eos_idx", eos_idx)):
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < vocab_size:
            raise ValueError(f"{name} must be a token id in [0, {vocab_size}), got {idx!r}; "
                             "take it from the target vocabulary, e.g. trg_field.vocab['<eos>'].")
    _check_values(model, src, src_lengths)


def _check_values(model: nn.Module, src: Tensor, src_lengths: Tensor | None) -> None:
    """Token ids inside the source vocabulary and lengths in 1..src_len, read back from the device once."""
    bounds = [src.min(), src.max()]
    if src_lengths is not None:
        bounds += [src_lengths.min().to(src.device, torch.long), src_lengths.max().to(src.device, torch.long)]
    low, high, *lengths = torch.stack(bounds).tolist()
    vocab_size = model.encoder.embedding.num_embeddings
    if low < 0 or high >= vocab_size:
        raise ValueError(f"src holds token ids outside [0, {vocab_size}) (from {low} to {high}); the model "
                         "was built for that source vocabulary: numericalize with the same Vocab "
                         "(src_field.process).")
    if lengths and (lengths[0] < 1 or lengths[1] > src.shape[0]):
        raise ValueError(f"src_lengths must be in [1, {src.shape[0]}] (src has {src.shape[0]} rows), got "
                         f"values from {lengths[0]} to {lengths[1]}; give each sentence's length with "
                         "<sos> and <eos>, as Field.process returns it.")


def greedy_decode(model: nn.Module, src: Tensor, src_lengths: Tensor | None = None, max_len: int = 50,
                  sos_idx: int = 2, eos_idx: int = 3, fast: bool = True) -> Decoded:
    """src (S, B) -> the argmax continuation of each sentence; each stops at its <eos>, the loop when all have.

    `fast` runs the decoder steps through the engine (the same results, faster); False, the textbook decoder.
    """
    _check(model, src, src_lengths, max_len, sos_idx, eos_idx)
    batch = src.shape[1]
    tokens: list[list[int]] = [[] for _ in range(batch)]
    attns: list[list[Tensor]] = [[] for _ in range(batch)]
    scores = torch.zeros(batch, device=src.device)  # (B,)
    active = torch.arange(batch, device=src.device)  # original column of each row still decoding
    with evaluating(model, src.device, fast):
        state = model.encode(src, src_lengths)
        input = torch.full((batch,), sos_idx, dtype=torch.long, device=src.device)  # (B,)
        for _ in range(max_len):
            logits, state, attn = _decoder_logits(model, input, state, fast)  # (b, V)
            top, input = logits.max(dim=-1)  # (b,), (b,)
            # log-probability of the argmax without materialising the whole log-softmax
            scores.index_add_(0, active, top - torch.logsumexp(logits, dim=-1))
            rows = active.tolist()
            for row, token in zip(rows, input.tolist()):
                tokens[row].append(token)
            if attn is not None:
                for row, weights in zip(rows, attn.float().unbind(0)):
                    attns[row].append(weights)
            done = input == eos_idx  # (b,)
            if bool(done.all()):
                break
            if bool(done.any()):
                keep = (~done).nonzero().squeeze(1)
                state, input, active = select_state(state, keep), input[keep], active[keep]
    attention = _stack_attention(attns, src, src_lengths) if has_attention(model) else None
    return Decoded(tokens, scores.tolist(), attention)


def _stack_attention(attns: list[list[Tensor]], src: Tensor, src_lengths: Tensor | None) -> list[Tensor]:
    """Per sentence (T_i, S_i): one row per generated token, columns cut to the sentence's own length."""
    lengths = [src.shape[0]] * src.shape[1] if src_lengths is None else src_lengths.tolist()
    return [torch.stack(rows)[:, :length].cpu() for rows, length in zip(attns, lengths)]


def check_decode_options(beam_size: object = 1, max_len: object = 50) -> None:
    """Raise a ValueError naming the fix when beam_size or max_len is not a positive integer.

    >>> check_decode_options(5, 50)
    """
    for name, value, hint in (("beam_size", beam_size, "1 is greedy decoding, 5 is typical"),
                              ("max_len", max_len, "50 suits Multi30k")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}; {hint}.")


def length_normalised(log_prob: float, length: int, length_penalty: float = 1.0) -> float:
    """The score beam search ranks by: log_prob / length ** length_penalty.

    >>> length_normalised(-6.0, 3), length_normalised(-6.0, 3, 0.0)
    (-2.0, -6.0)
    """
    if length < 1:
        raise ValueError(f"length must be >= 1 (the hypothesis has at least one token), got {length}.")
    return log_prob / length ** length_penalty if math.isfinite(log_prob) else log_prob


def beam_search(model: nn.Module, src: Tensor, src_lengths: Tensor | None = None, beam_size: int = 5,
                max_len: int = 50, sos_idx: int = 2, eos_idx: int = 3, length_penalty: float = 1.0,
                fast: bool = True) -> Decoded:
    """src (S, B) -> the best hypothesis per sentence under score = log P(y) / len(y) ** length_penalty.

    All sentences x beams are decoded as one batch of B * beam_size rows. Each step keeps the
    2 * beam_size best extensions per sentence: those ending in <eos> within the top beam_size
    become finished hypotheses, the best beam_size others live on. A sentence stops once it
    has beam_size finished hypotheses or no live beam can still beat its best one; it is then
    dropped from the batch. `length_penalty=0` ranks by plain log-probability; beam_size=1
    equals greedy decoding.
    """
    _check(model, src, src_lengths, max_len, sos_idx, eos_idx)  # max_len among the rest
    check_decode_options(beam_size)
    if not isinstance(length_penalty, (int, float)) or not length_penalty >= 0:
        raise ValueError(f"length_penalty must be a number >= 0, got {length_penalty!r}; "
                         "0 ranks by raw log-probability, 1 by log-probability per token.")
    batch, k, device = src.shape[1], beam_size, src.device
    # finished[b]: (normalised score, token ids, attention rows or None)
    finished: list[list[tuple[float, list[int], Tensor | None]]] = [[] for _ in range(batch)]
    active = list(range(batch))  # original column of each sentence still searching
    with evaluating(model, src.device, fast):
        state = model.encode(src, src_lengths)
        state = select_state(state, torch.arange(batch, device=device).repeat_interleave(k))  # B*K rows
        scores = torch.full((batch, k), float("-inf"), device=device)  # (n, K)
        scores[:, 0] = 0.0  # one live beam at first, so the K beams do not start as copies
        history = torch.empty((batch * k, 0), dtype=torch.long, device=device)  # (n*K, t)
        attn_history = (torch.empty((batch * k, 0, src.shape[0]), device=device)
                        if has_attention(model) else None)  # (n*K, t, S)
        input = torch.full((batch * k,), sos_idx, dtype=torch.long, device=device)  # (n*K,)
        for t in range(1, max_len + 1):
            log_probs, state, attn = decoder_step(model, input, state, fast)  # (n*K, V), (n*K, S)
            n, vocab = len(active), log_probs.shape[-1]
            cand = (scores.unsqueeze(-1) + log_probs.view(n, k, vocab)).view(n, k * vocab)  # (n, K*V)
            top_scores, top_ids = cand.topk(min(2 * k, k * vocab), dim=1)  # (n, 2K), best first
            beams, tokens = top_ids // vocab, top_ids % vocab  # (n, 2K)
            is_eos = tokens == eos_idx
            final = is_eos.clone()
            final[:, k:] = False
            if t == max_len:
                final[:, :k] = True
            final &= top_scores > float("-inf")
            step_attn = None if attn is None else torch.cat(
                [attn_history, attn.float().unsqueeze(1)], dim=1)  # (n*K, t, S)
            for i, j in final.nonzero().tolist():
                row = i * k + int(beams[i, j])
                seq = history[row].tolist() + [int(tokens[i, j])]
                rows_attn = None if step_attn is None else step_attn[row]
                score = length_normalised(float(top_scores[i, j]), len(seq), length_penalty)
                finished[active[i]].append((score, seq, rows_attn))
            if t == max_len:
                break
            alive = ~is_eos & (torch.cumsum(~is_eos, dim=1) <= k)  # first K non-<eos> candidates
            pick = alive.nonzero()[:, 1].view(n, k)  # (n, K)
            scores = top_scores.gather(1, pick)  # (n, K)
            rows = (torch.arange(n, device=device).unsqueeze(1) * k + beams.gather(1, pick)).view(-1)  # (n*K,)
            input = tokens.gather(1, pick).view(-1)  # (n*K,)
            history = torch.cat([history[rows], input.unsqueeze(1)], dim=1)  # (n*K, t)
            if step_attn is not None:
                attn_history = step_attn[rows]
            state = select_state(state, rows)
            # no live beam can beat a finished one: log-probs only fall, and dividing by at most
            # max_len ** length_penalty is the most a longer hypothesis can gain
            bound = (scores.max(dim=1).values / max_len ** length_penalty).tolist()
            keep = [i for i, b in enumerate(active) if len(finished[b]) < k
                    and not (finished[b] and max(f[0] for f in finished[b]) >= bound[i])]
            if not keep:
                break
            if len(keep) < n:
                sentences = torch.tensor(keep, device=device)
                rows = (sentences.unsqueeze(1) * k + torch.arange(k, device=device)).view(-1)  # (n'*K,)
                state, input, history = select_state(state, rows), input[rows], history[rows]
                attn_history = None if attn_history is None else attn_history[rows]
                scores, active = scores[sentences], [active[i] for i in keep]
    best = [max(hyps, key=lambda h: h[0]) for hyps in finished]
    attention = None
    if has_attention(model):
        lengths = [src.shape[0]] * batch if src_lengths is None else src_lengths.tolist()
        attention = [h[2][:, :length].cpu() for h, length in zip(best, lengths)]
    return Decoded([h[1] for h in best], [h[0] for h in best], attention)


__all__ = ["Decoded", "has_attention", "select_state", "decoder_step", "evaluating", "greedy_decode",
           "beam_search", "check_decode_options", "length_normalised"]

"""The engine: the textbook models of `seq2seq_lib.models`, trained and decoded faster.

Nothing here changes what a model computes: tests/test_fast.py checks that its losses,
gradients and decoder steps equal the textbook's (in eval mode, or with dropout at 0). With
dropout on, the engine draws its masks another way (a CPU mask from `torch.rand`, one mask for a
whole stretch of steps), so the two drop different units: the same distribution, other samples.
It is chosen by one flag, `fast=True`, the default of `fit`, `Translator`, the command line and
the benchmarks; `fast=False` runs the textbook code.
What it does differently:

1. Block teacher forcing (`loss`): the coins are drawn before decoding, so every stretch of
   gold inputs is known in advance and goes through the RNN in one call instead of one call
   per step; only the steps that feed back the model's own guess run alone.
2. Cell steps (`cells`): a short run skips the RNN module's fixed per-call set-up (oneDNN
   re-lays out the weights, cuDNN builds descriptors) by calling the LSTM/GRU cell functions.
3. Fused loss over non-pad rows (`fused_loss`): the vocabulary projection and cross-entropy
   run only where trg[1:] is not <pad>, chunk by chunk, with the gradient found on the way.
4. Dropout masks drawn with `torch.rand` on a CPU (`dropout`), several times faster than
   `bernoulli_`, with the same distribution.
5. Adam in its fused single-kernel form (`make_optimizer`).
6. Inference (`inference`, `decoder_step`): eval mode, no autograd, cell steps, and on a CPU in
   fp32 the native kernels instead of oneDNN's, which are slower one sentence at a time.
7. The Transformer (`transformer`): the fused attention kernel in training, a key/value cache
   in decoding.
8. Whole RNN module calls on a CPU (`rnn_calls`): layer by layer with the engine's dropout masks
   between them, and a packed batch of mixed lengths as one unpacked oneDNN call per length.
9. fp32 matrix products on an x86 CPU through oneDNN rather than MKL (`gemm`), in the cells, the
   fused loss and the guesses: the same products, about twice as fast on the AMD machine where
   they were measured.

Mixed precision lives in `seq2seq_lib.precision`, which both paths use.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from ..models.layers import join_state, split_state
from ..models.seq2seq import check_batch, check_criterion, teacher_forcing_coins
from ..utils import autocast_state
from . import gemm
from .cells import run_rnn
from .dropout import fast_dropout
from .fused_loss import linear_cross_entropy
from .rnn_calls import fast_rnns
from . import transformer as transformer_engine


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam in its fused single-kernel form where this torch and device support it (same maths)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # e.g. MPS on older torch
        return torch.optim.Adam(model.parameters(), lr=lr)


def run_decoder(decoder: nn.Module, inputs: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
    """inputs (k, B) known tokens -> features (k, B, F) before `fc_out`, new state, weights (k, B, S) or None.

    The same arithmetic as k calls of the textbook decoder, without the projection.
    """
    embedded = decoder.dropout(decoder.embedding(inputs))  # (k, B, E)
    if getattr(decoder, "feeds_context", False):  # the context is fixed, so the block is one RNN call too
        context = state.context.expand(inputs.shape[0], -1, -1)  # (k, B, H)
        rnn_input = torch.cat([embedded, context], dim=-1)  # (k, B, E + H)
        outputs, rnn_state = run_rnn(decoder.rnn, rnn_input, join_state(state.hidden, state.cell))
        hidden, cell = split_state(rnn_state)
        features = torch.cat([outputs, context, embedded], dim=-1)  # (k, B, F)
        return features, state._replace(hidden=hidden, cell=cell), None
    if not getattr(decoder, "has_attention", False):
        outputs, state = run_rnn(decoder.rnn, embedded, state)  # (k, B, H): one RNN call for the block
        return outputs, state, None
    hidden, cell = state.hidden, state.cell  # (L, B, H)
    outputs, contexts, weights = [], [], []
    for emb in embedded:  # (B, E); each step attends with the previous hidden state
        attn = decoder.attention(hidden[-1], state.keys, state.mask)  # (S, B)
        context = torch.einsum("sb,sbd->bd", attn, state.enc_outputs)  # (B, 2H)
        rnn_input = torch.cat([emb, context], dim=-1).unsqueeze(0)  # (1, B, E + 2H)
        output, rnn_state = run_rnn(decoder.rnn, rnn_input, join_state(hidden, cell))  # (1, B, H)
        hidden, cell = split_state(rnn_state)
        outputs.append(output[0])
        contexts.append(context)
        weights.append(attn.t())  # (B, S)
    features = torch.cat([torch.stack(outputs), torch.stack(contexts), embedded], dim=-1)  # (k, B, F)
    return features, state._replace(hidden=hidden, cell=cell), torch.stack(weights)


def teacher_forced_features(model: nn.Module, trg: Tensor, coins: list[bool], state: Any) -> Tensor:
    """Decoder features (T-1, B, F) for output rows 1..T-1, each stretch of gold inputs in one block."""
    n_steps = trg.shape[0] - 1
    if isinstance(coins, str) or len(coins) < n_steps - 1 or not all(isinstance(c, bool) for c in coins):
        raise ValueError(f"coins must be {max(n_steps - 1, 0)} or more True/False values, one per step from the "
                         "second (teacher_forcing_coins makes them).")
    blocks: list[Tensor] = []
    start, first = 0, trg[:1]  # (1, B): <sos>
    while start < n_steps:
        end = start + 1
        while end < n_steps and coins[end - 1]:  # coins[i - 1]: step i's input is the gold trg[i]
            end += 1
        inputs = trg[:end] if start == 0 else torch.cat([first, trg[start + 1:end]])  # (k, B)
        features, state, _ = run_decoder(model.decoder, inputs, state)  # (k, B, F)
        blocks.append(features)
        if end < n_steps:  # the next input is the model's own guess
            with torch.no_grad():
                fc = model.decoder.fc_out
                logits = gemm.linear(features[-1], fc.weight, fc.bias).float()  # (B, V): bf16 argmax is 5x slower
                first = logits.argmax(-1).unsqueeze(0)  # (1, B)
        start = end
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks)


def loss(model: nn.Module, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5,
         src_lengths: Tensor | None = None,
         criterion: Callable[[Tensor, Tensor], Tensor] | None = None) -> tuple[Tensor, int]:
    """`model.loss(...)` computed by the engine: the same value and gradients, and the same coins."""
    check_batch(model, src, trg, teacher_forcing_ratio, src_lengths)
    criterion = check_criterion(criterion, model.pad_idx)
    if transformer_engine.is_transformer(model):
        if teacher_forcing_ratio != 1.0:  # its own guesses exist one at a time: the textbook loop
            return type(model).loss(model, src, trg, teacher_forcing_ratio, src_lengths, criterion)
        features = transformer_engine.features(model, src, trg[:-1])  # (T-1, B, D)
    else:
        coins = teacher_forcing_coins(trg.shape[0] - 1, teacher_forcing_ratio)  # drawn where the textbook draws
        with fast_dropout(model), fast_rnns(model):
            state = model.encode(src, src_lengths)
            features = teacher_forced_features(model, trg, coins, state)  # (T-1, B, F)
    gold = trg[1:]  # (T-1, B)
    keep = gold != model.pad_idx
    rows, targets = features[keep], gold[keep]  # (N, F), (N,): only the non-pad tokens
    fc = model.decoder.fc_out
    if _is_plain_cross_entropy(criterion):
        value = linear_cross_entropy(rows, fc.weight, fc.bias, targets, criterion.label_smoothing)
    else:  # weighted or custom: project the rows, then let the criterion score them
        value = criterion(fc(rows), targets)  # (N, V) logits
    return value, int(targets.numel())


def _is_plain_cross_entropy(criterion: Any) -> bool:
    """True for an unweighted, mean CrossEntropyLoss (smoothed or not): what `linear_cross_entropy` computes."""
    return (type(criterion) is nn.CrossEntropyLoss and criterion.weight is None
            and criterion.reduction == "mean")


def decoder_step(model: nn.Module, input: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
    """`model.decoder.step(input, state)` by the engine: input (B,) -> logits (B, V), state, weights (B, S) or None."""
    if transformer_engine.is_transformer(model):
        return transformer_engine.decoder_step(model, input, state)
    features, state, weights = run_decoder(model.decoder, input.unsqueeze(0), state)  # (1, B, F)
    return model.decoder.fc_out(features[0]), state, None if weights is None else weights[0]


@contextmanager
def inference(model: nn.Module, device: torch.device | None = None) -> Iterator[None]:
    """Eval mode and no autograd inside; on a CPU in fp32 also PyTorch's native kernels instead of oneDNN's.

    One sentence at a time oneDNN's kernels are the slower ones (14.4 against 13.7 ms per
    sentence for the trained classic model on a 2-core CPU), and batches run at equal speed.
    Under bf16 autocast oneDNN is what makes bf16 fast, so it stays on. The model's mode and
    the oneDNN switch are restored on exit.
    """
    was_training, onednn = model.training, torch.backends.mkldnn.enabled
    native = device is not None and torch.device(device).type == "cpu" and not autocast_state("cpu")[0]
    model.eval()
    try:
        if native:
            torch.backends.mkldnn.enabled = False
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
        torch.backends.mkldnn.enabled = onednn


__all__ = ["make_optimizer", "run_decoder", "teacher_forced_features", "loss", "decoder_step", "inference",
           "linear_cross_entropy"]

"""Scores by source-sentence length: where a fixed-size summary of the source starts to hurt.

`scores_by_length(translator, pairs)` groups (German, English) pairs by the number of German
tokens and gives, per group, the teacher-forced loss per target token and the greedy token BLEU.
A model that squeezes the sentence into one state should lose most on the long groups.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch.nn.functional as F

from .decode import evaluating
from .metrics import bleu_token_lists, check_pairs, token_bleu
from .translator import Translator

LENGTH_GROUPS = ((1, 8), (9, 12), (13, 16), (17, 20), (21, 10_000))  # German tokens, without <sos>/<eos>


@dataclass(frozen=True)
class LengthGroupScore:
    """One length group: its bounds, how many sentences fell in it, and the model's scores on them."""

    low: int
    high: int
    sentences: int
    loss_teacher_forced: float  # mean cross-entropy per target token, reference prefix fed
    bleu_tokens: float  # greedy decoding, corpus token BLEU over the group

    @property
    def label(self) -> str:
        return f"{self.low}-{self.high}" if self.high < 1000 else f"{self.low}+"


def _check(translator: object, pairs: object, groups: object) -> None:
    if not isinstance(translator, Translator):
        raise TypeError(f"Expected a Translator, got {type(translator).__name__}; use Translator.from_checkpoint "
                        "or Translator.from_pretrained.")
    check_pairs(pairs)
    bounds = list(groups) if isinstance(groups, Sequence) else []
    if not bounds or any(not (isinstance(g, tuple) and len(g) == 2 and 1 <= g[0] <= g[1]) for g in bounds) or any(
            a[1] + 1 != b[0] for a, b in zip(bounds, bounds[1:])):
        raise ValueError(f"groups must be adjacent (low, high) pairs of lengths such as {LENGTH_GROUPS}, got {groups!r}.")


def scores_by_length(translator: Translator, pairs: Sequence[tuple[str, str]],
                     groups: Sequence[tuple[int, int]] = LENGTH_GROUPS, batch_size: int = 128
                     ) -> list[LengthGroupScore]:
    """Per length group of the German sentences: sentences, teacher-forced loss per token, greedy token BLEU.

    Sentences shorter or longer than every group are left out.
    """
    _check(translator, pairs, groups)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
    src_field, trg_field = translator.src_field, translator.trg_field
    lengths = [len(src_field.preprocess(german)) for german, _ in pairs]
    member = [next((i for i, (low, high) in enumerate(groups) if low <= n <= high), None) for n in lengths]
    pad_idx = trg_field.vocab[trg_field.pad_token]
    loss_sum, token_count = [0.0] * len(groups), [0] * len(groups)
    model, device = translator.model, translator.device
    with evaluating(model, device, fast=False):
        for start in range(0, len(pairs), batch_size):  # in order, so sentence i stays column i - start
            chunk = pairs[start:start + batch_size]
            src, src_lengths = src_field.process([de for de, _ in chunk], device)  # (S, B), (B,)
            trg, _ = trg_field.process([en for _, en in chunk], device)  # (T, B)
            logits = model(src, trg, 1.0, src_lengths)  # (T, B, V); row 0 is empty
            losses = F.cross_entropy(logits[1:].flatten(0, 1).float(), trg[1:].flatten(), ignore_index=pad_idx,
                                     reduction="none").view(trg.shape[0] - 1, -1).sum(0)  # (B,)
            counts = (trg[1:] != pad_idx).sum(0)  # (B,)
            for offset, (loss, count) in enumerate(zip(losses.tolist(), counts.tolist())):
                group = member[start + offset]
                if group is not None:
                    loss_sum[group] += loss
                    token_count[group] += count
    results = translator.translate_batch([german for german, _ in pairs], beam_size=1)
    hypotheses, references = bleu_token_lists(trg_field, results, [english for _, english in pairs])  # words
    scores = []
    for g, (low, high) in enumerate(groups):
        chosen = [i for i, m in enumerate(member) if m == g]
        bleu = token_bleu([hypotheses[i] for i in chosen], [references[i] for i in chosen]) if chosen else 0.0
        loss = loss_sum[g] / token_count[g] if token_count[g] else float("nan")
        scores.append(LengthGroupScore(low, high, len(chosen), loss, bleu))
    return scores


__all__ = ["LENGTH_GROUPS", "LengthGroupScore", "scores_by_length"]

"""Temperature and top-k on a next-token distribution, for the decoder widget of notebook 05.

`next_token_probs` turns one sentence's logits (V,) into probabilities, `top_tokens` ranks them
and `probability_bars` draws them as a text bar chart. `next_token_view` puts it together for an
ipywidgets Output and turns a bad setting (a temperature of 0, say) into a readable note.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import torch
from torch import Tensor

from ..vocab import Vocab

MAX_ROWS = 12
BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _check_logits(logits: object) -> Tensor:
    """One sentence's logits as a float CPU tensor (V,); raises with the fix otherwise."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a torch tensor of shape (V,), got {type(logits).__name__}.")
    if logits.dim() != 1 or logits.numel() == 0:
        raise ValueError(f"logits must have shape (V,) for one sentence, got {tuple(logits.shape)}; "
                         "take row b of a decoder step's (B, V) output: logits[b].")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be floating point, got {logits.dtype}.")
    logits = logits.detach().float().cpu()
    if torch.isnan(logits).any() or (logits == math.inf).any():
        raise ValueError("logits hold NaN or +inf; a model that outputs these has diverged.")
    if not torch.isfinite(logits).any():
        raise ValueError("every logit is -inf, so no token is possible; keep at least one finite score.")
    return logits


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, Real) or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}; the limit of a temperature "
                         "near 0 is the argmax, which is greedy decoding.")
    return float(temperature)


def _check_top_k(top_k: object) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, Integral) or top_k < 1:
        raise ValueError(f"top_k must be None (keep every token) or an integer >= 1, got {top_k!r}.")
    return int(top_k)


def next_token_probs(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """softmax(logits / temperature) of shape (V,); with `top_k`, only the k largest stay, renormalised.

    A `top_k` of V or more keeps every token.

    >>> logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    >>> [round(p, 3) for p in next_token_probs(logits).tolist()]
    [0.644, 0.237, 0.087, 0.032]
    >>> [round(p, 3) for p in next_token_probs(logits, temperature=0.5).tolist()]
    [0.865, 0.117, 0.016, 0.002]
    >>> [round(p, 3) for p in next_token_probs(logits, top_k=2).tolist()]
    [0.731, 0.269, 0.0, 0.0]
    """
    logits = _check_logits(logits)
    temperature, top_k = _check_temperature(temperature), _check_top_k(top_k)
    scaled = logits / temperature  # (V,)
    if top_k is not None and top_k < scaled.numel():
        order = torch.sort(scaled, descending=True, stable=True).indices  # ties: lower id first
        dropped = torch.ones_like(scaled, dtype=torch.bool)
        dropped[order[:top_k]] = False
        scaled = scaled.masked_fill(dropped, -math.inf)
    return torch.softmax(scaled, dim=-1)  # (V,)


def _check_probs(probs: object) -> Tensor:
    if not isinstance(probs, Tensor) or probs.dim() != 1 or probs.numel() == 0:
        raise ValueError("probs must be a non-empty tensor of shape (V,), e.g. next_token_probs(logits).")
    probs = probs.detach().double().cpu()
    if (probs < 0).any() or not torch.isfinite(probs).all() or abs(float(probs.sum()) - 1.0) > 1e-4:
        raise ValueError("probs must be non-negative and sum to 1; pass softmax output, not logits.")
    return probs


def _as_itos(itos: Sequence[str] | Vocab) -> Sequence[str]:
    """A Vocab stands for its itos (its tokens in id order)."""
    return itos.itos if isinstance(itos, Vocab) else itos


def top_tokens(probs: Tensor, itos: Sequence[str], k: int) -> list[tuple[str, int, float]]:
    """The k most likely (token, id, probability), most likely first; equal probabilities in id order.

    >>> top_tokens(torch.tensor([0.1, 0.6, 0.3]), ["a", "dog", "runs"], 2)
    [('dog', 1, 0.6), ('runs', 2, 0.3)]
    """
    probs, itos = _check_probs(probs), _as_itos(itos)
    if len(itos) != probs.numel():
        raise ValueError(f"itos has {len(itos)} tokens but probs has {probs.numel()} entries; "
                         "use the target vocabulary's itos (trg_field.vocab.itos).")
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}.")
    values, ids = torch.sort(probs, descending=True, stable=True)
    return [(itos[i], i, round(p, 6)) for p, i in zip(values[:k].tolist(), ids[:k].tolist())]


def effective_choices(probs: Tensor) -> float:
    """exp(entropy): 1.0 when one token is certain, V when all V tokens are equally likely.

    >>> effective_choices(torch.tensor([0.25, 0.25, 0.25, 0.25]))
    4.0
    >>> effective_choices(torch.tensor([1.0, 0.0, 0.0]))
    1.0
    """
    probs = _check_probs(probs)
    return round(math.exp(float(torch.special.entr(probs).sum())), 6)


def _bar(share: float, width: int) -> str:
    """A bar `share * width` characters long, in eighths; anything above 0 shows at least a sliver."""
    eighths = round(share * width * 8)
    if share > 0 and eighths == 0:
        eighths = 1
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def probability_bars(rows: Sequence[tuple[str, int, float]], width: int = BAR_WIDTH) -> str:
    """Text bar chart of (token, id, probability) rows; a bar of `width` characters means 100%.

    >>> print(probability_bars([("a", 4, 0.5), ("the", 7, 0.25)], width=8))
    a    4  ████       50.00%
    the  7  ██         25.00%
    """
    if isinstance(width, bool) or not isinstance(width, Integral) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}.")
    if not rows:
        return ""
    if isinstance(rows, dict) or not all(isinstance(row, (tuple, list)) and len(row) == 3 for row in rows):
        raise TypeError("rows must be (token, id, probability) triples, as top_tokens returns them.")
    rows = [(str(token), int(index), float(p)) for token, index, p in rows]
    if any(not 0.0 <= p <= 1.0 for _, _, p in rows):
        raise ValueError("probabilities must lie in [0, 1]; pass softmax outputs, not logits or percentages.")
    token_width = max(len(token) for token, _, _ in rows)
    id_width = max(len(str(index)) for _, index, _ in rows)
    return "\n".join(f"{token.ljust(token_width)}  {str(index).rjust(id_width)}  "
                     f"{_bar(p, width).ljust(width)}  {p:7.2%}" for token, index, p in rows)


def next_token_view(logits: Tensor, itos: Sequence[str], temperature: float = 1.0,
                    top_k: int | None = None, max_rows: int = MAX_ROWS, width: int = BAR_WIDTH) -> str:
    """What the widget shows: the most likely next tokens as bars, and how spread out the choice is.

    A bad temperature or top_k becomes a note; bad logits or itos still raise (a notebook mistake).

    >>> print(next_token_view(torch.tensor([0.0, 2.0, 1.0]), ["<unk>", "a", "two"], top_k=2, width=10))
    temperature 1, top-k 2: 2 of 3 tokens can be picked, as uncertain as a fair pick among 1.8 tokens
    argmax (what greedy decoding picks, at any temperature): 'a' (id 1)
    <BLANKLINE>
    a    1  ███████▎     73.11%
    two  2  ██▊          26.89%
    """
    logits, itos = _check_logits(logits), _as_itos(itos)
    if len(itos) != logits.numel():
        raise ValueError(f"itos has {len(itos)} tokens but the logits have {logits.numel()}; "
                         "use the target vocabulary's itos (trg_field.vocab.itos).")
    if isinstance(max_rows, bool) or not isinstance(max_rows, Integral) or max_rows < 1:
        raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}.")
    try:
        probs = next_token_probs(logits, temperature, top_k)
    except ValueError as exc:
        return f"Cannot show this setting: {exc}"
    kept = int((probs > 0).sum())
    rows = top_tokens(probs, itos, min(max_rows, kept))
    best = int(torch.argmax(logits))
    lines = [
        f"temperature {temperature:g}, top-k {'all' if top_k is None else top_k}: {kept:,} of "
        f"{len(itos):,} tokens can be picked, as uncertain as a fair pick among "
        f"{effective_choices(probs):,.1f} tokens",
        f"argmax (what greedy decoding picks, at any temperature): {itos[best]!r} (id {best})",
        "",
        probability_bars(rows, width),
    ]
    if kept > len(rows):
        rest = 1.0 - sum(p for _, _, p in rows)
        lines.append(f"... and {kept - len(rows):,} more tokens, together {rest:.1%}")
    return "\n".join(lines)


__all__ = ["next_token_probs", "top_tokens", "effective_choices", "probability_bars", "next_token_view"]

"""Teacher forcing and free running, drawn: the decoder unrolled over its steps, and what each step is fed.

With teacher forcing every step after the first is fed the gold token, the reference word before
the one it must predict; free running, it is fed its own previous prediction, as when the model
translates. `teacher_forcing_figure` draws both rows (and, given coins, the mixed case that
`teacher_forcing_ratio` between 0 and 1 gives), from the tokens you pass it.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> figure = teacher_forcing_figure()
>>> [ax.get_title(loc="left") for ax in figure.axes]
['teacher forcing (ratio 1): every input is the gold token', 'free running (ratio 0): every input is its own previous prediction']
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EXAMPLE_TARGET = ("<sos>", "two", "dogs", "play", "<eos>")
# what a model might predict at steps 1..4: fed gold, its one mistake ("dog") costs one word;
# fed its own guesses, the mistake becomes the next input and the sentence drifts
EXAMPLE_FORCED = ("two", "dog", "play", "<eos>")
EXAMPLE_FREE = ("two", "dog", "runs", ".")

GOLD_COLOUR, OWN_COLOUR = "#2e7d32", "#ef6c00"
RIGHT_COLOUR, WRONG_COLOUR = "#1b5e20", "#c62828"
TITLES = {"forced": "teacher forcing (ratio 1): every input is the gold token",
          "free": "free running (ratio 0): every input is its own previous prediction",
          "mixed": "a ratio between 0 and 1: a coin per step picks gold or its own prediction"}
LEGEND = ("gold token (from the reference)", "its own previous prediction")


def _tokens(value: object, name: str, length: int | None = None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a list of tokens (strings), e.g. ['<sos>', 'two', 'dogs'], got {value!r}.")
    if not all(isinstance(token, str) and token for token in value):
        raise ValueError(f"every token of {name} must be a non-empty string, got {list(value)!r}.")
    if length is not None and len(value) != length:
        raise ValueError(f"{name} needs one token per decoder step, {length} for a target of {length + 1} "
                         f"tokens (steps 1..T-1), got {len(value)}.")
    return tuple(value)


def fed_tokens(target: Sequence[str], predictions: Sequence[str], coins: Sequence[bool]) -> list[tuple[str, bool]]:
    """(token fed, is it gold?) at steps 1..T-1: <sos> first, then trg[t-1] where the coin is True, else the guess.

    >>> fed_tokens(EXAMPLE_TARGET, EXAMPLE_FREE, (False, True, False))
    [('<sos>', True), ('two', False), ('dogs', True), ('runs', False)]
    """
    return [(target[0], True)] + [(target[t - 1], True) if coin else (predictions[t - 2], False)
                                  for t, coin in enumerate(coins, start=2)]


def teacher_forcing_figure(target: Sequence[str] = EXAMPLE_TARGET, forced: Sequence[str] = EXAMPLE_FORCED,
                           free: Sequence[str] = EXAMPLE_FREE, coins: Sequence[bool] | None = None,
                           mixed: Sequence[str] | None = None) -> Any:
    """The decoder unrolled over T-1 steps, fed gold tokens (top) and its own predictions (below); the figure.

    `target` is the reference with <sos> first (T tokens); `forced` and `free` are what the decoder
    predicts at steps 1..T-1 in each case. With `coins` (one bool per step 2..T-1, True: gold) and
    `mixed` (the predictions of that run) a third row shows the mixed case. Each prediction is
    drawn in green where it matches the reference and in red where it does not.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Patch

    target = _tokens(target, "target")
    if len(target) < 2:
        raise ValueError(f"target needs at least 2 tokens (<sos> and one to predict), got {list(target)!r}.")
    steps = len(target) - 1
    rows = [("forced", [(target[0], True)] + [(token, True) for token in target[1:-1]], _tokens(forced, "forced", steps)),
            ("free", None, _tokens(free, "free", steps))]
    free_predictions = rows[1][2]
    rows[1] = ("free", [(target[0], True)] + [(token, False) for token in free_predictions[:-1]], free_predictions)
    if (coins is None) != (mixed is None):
        raise ValueError("pass coins and mixed together (the coins of steps 2..T-1 and that run's predictions), "
                         "or neither.")
    if coins is not None:
        if isinstance(coins, str) or not isinstance(coins, Sequence) or len(coins) != steps - 1 or not all(
                isinstance(coin, bool) for coin in coins):
            raise ValueError(f"coins must be {steps - 1} booleans, one per step 2..{steps} (True: the gold token), "
                             f"got {coins!r}.")
        mixed = _tokens(mixed, "mixed", steps)
        rows.append(("mixed", fed_tokens(target, mixed, coins), mixed))

    figure, axes = plt.subplots(len(rows), 1, figsize=(1.9 * steps + 1.6, 2.5 * len(rows)), squeeze=False)
    for ax, (kind, fed, predicted) in zip(axes[:, 0], rows):
        ax.set_xlim(-0.9, steps - 0.2)
        ax.set_ylim(-0.15, 3.1)
        ax.axis("off")
        ax.set_title(TITLES[kind], loc="left", fontsize="medium")
        for i, ((token, gold), guess) in enumerate(zip(fed, predicted)):
            x = i
            ax.add_patch(FancyBboxPatch((x - 0.38, 1.15), 0.76, 0.7, boxstyle="round,pad=0.03",
                                        facecolor="#e3f2fd", edgecolor="#1565c0"))
            ax.text(x, 1.5, f"decoder\nstep {i + 1}", ha="center", va="center", fontsize=9)
            ax.text(x, 2.92, target[i + 1], ha="center", va="center", fontsize=9, color="#555555")
            ax.text(x, 0.2, token, ha="center", va="center", fontsize=10, color="white", fontweight="bold",
                    bbox=dict(boxstyle="round,pad=0.25", facecolor=GOLD_COLOUR if gold else OWN_COLOUR))
            ax.annotate("", xy=(x, 1.13), xytext=(x, 0.45), arrowprops=dict(arrowstyle="->", color="#333333"))
            right = guess == target[i + 1]
            ax.text(x, 2.4, guess, ha="center", va="center", fontsize=10,
                    color=RIGHT_COLOUR if right else WRONG_COLOUR, fontweight="bold")
            ax.annotate("", xy=(x, 2.22), xytext=(x, 1.87), arrowprops=dict(arrowstyle="->", color="#333333"))
            if i > 0:  # the hidden and cell state carried from the previous step
                ax.annotate("", xy=(x - 0.4, 1.5), xytext=(x - 0.6, 1.5), arrowprops=dict(arrowstyle="->", color="#1565c0"))
            if i + 1 < steps and not fed[i + 1][1]:  # this prediction becomes the next step's input
                ax.annotate("", xy=(x + 0.78, 0.42), xytext=(x + 0.18, 2.22),
                            arrowprops=dict(arrowstyle="->", color=OWN_COLOUR, linestyle="--",
                                            connectionstyle="arc3,rad=-0.2"))
        ax.text(-0.85, 0.2, "fed", ha="left", va="center", fontsize=9, style="italic")
        ax.text(-0.85, 2.4, "predicts", ha="left", va="center", fontsize=9, style="italic")
        ax.text(-0.85, 2.92, "reference", ha="left", va="center", fontsize=9, style="italic", color="#555555")
    figure.legend(handles=[Patch(color=GOLD_COLOUR, label=LEGEND[0]), Patch(color=OWN_COLOUR, label=LEGEND[1])],
                  loc="lower center", ncol=3, fontsize=9, frameon=False,
                  title="inputs (predictions are green where they match the reference, red where not)", title_fontsize=9)
    figure.tight_layout(rect=(0, 0.09, 1, 1))
    return figure


__all__ = ["teacher_forcing_figure", "fed_tokens", "EXAMPLE_TARGET", "EXAMPLE_FORCED", "EXAMPLE_FREE"]

"""The tree of a beam search: every candidate a step ranked, which ones lived on, which finished.

A trace is one list of nodes per step. A node is `(tokens, score, status)`: the partial
translation after that step as a sequence of words (step t has t of them), its total
log-probability, and what beam search did with it: "kept" (a live beam, extended at the next
step), "finished" (it ended in `<eos>` and ranked in the top k, so it was set aside as a complete
translation) or "pruned" (ranked among the candidates shown but dropped). Every node of step t
continues a kept node of step t - 1 (step 1's continue the start, `<sos>`).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> trace = [[(("a",), -0.7, "kept"), (("two",), -0.9, "kept"), (("<eos>",), -3.0, "pruned")],
...          [(("two", "dogs"), -1.0, "kept"), (("a", "dog"), -1.6, "kept"), (("a", "cat"), -1.8, "pruned")]]
>>> fig = draw_beam_tree(trace, best=["two", "dogs"])
>>> sorted(t.get_text() for t in fig.axes[0].texts if "\\n" in t.get_text())[:2]
['<eos>\\n-3.00', 'a\\n-0.70']
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import NamedTuple

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

STATUSES = ("kept", "finished", "pruned")
# status -> (face colour, edge colour, text colour)
STYLE = {"kept": ("#dbe9f6", "#1f77b4", "black"),
         "finished": ("#d9f0d3", "#2ca02c", "black"),
         "pruned": ("#f2f2f2", "#bdbdbd", "#9e9e9e")}


class Node(NamedTuple):
    """One candidate of one step: the words so far, their total log-probability, what became of it."""

    tokens: tuple[str, ...]
    score: float
    status: str


def check_trace(trace: object, best: object = None) -> tuple[list[list[Node]], tuple[str, ...] | None]:
    """Validate a beam-search trace (see the module docstring) and return it as Nodes.

    >>> check_trace([[(("a",), -1.0, "kept")]])[0]
    [[Node(tokens=('a',), score=-1.0, status='kept')]]
    >>> check_trace([[(("a",), -1.0, "alive")]])
    Traceback (most recent call last):
    ...
    ValueError: step 1, node 1: status must be one of 'kept', 'finished', 'pruned', got 'alive'.
    """
    if isinstance(trace, (str, bytes)) or not isinstance(trace, Sequence) or not trace:
        raise ValueError("trace must be a non-empty list with one list of nodes per step, each node "
                         f"(tokens, score, status); got {type(trace).__name__}.")
    steps: list[list[Node]] = []
    for t, step in enumerate(trace, start=1):
        if isinstance(step, (str, bytes)) or not isinstance(step, Sequence) or not step:
            raise ValueError(f"step {t} must be a non-empty list of (tokens, score, status) nodes, got {step!r}.")
        nodes = [_node(t, i, node) for i, node in enumerate(step, start=1)]
        seen = [n.tokens for n in nodes]
        if len(set(seen)) != len(seen):
            raise ValueError(f"step {t} lists the same partial translation twice; each candidate appears once.")
        if t > 1:
            parents = {n.tokens for n in steps[-1] if n.status == "kept"}
            for n in nodes:
                if n.tokens[:-1] not in parents:
                    raise ValueError(f"step {t}: {' '.join(n.tokens)!r} continues {' '.join(n.tokens[:-1])!r}, "
                                     f"which is not a kept beam of step {t - 1}; only kept beams are extended.")
        steps.append(nodes)
    if best is None:
        return steps, None
    if isinstance(best, (str, bytes)) or not isinstance(best, Sequence) or not best \
            or not all(isinstance(w, str) for w in best):
        raise ValueError(f"best must be the best translation as a non-empty list of words, got {best!r}; "
                         "split a string with .split().")
    best = tuple(best)
    if best[:1] not in {n.tokens for n in steps[0]}:
        raise ValueError(f"best starts with {best[0]!r}, which is no node of step 1: the best path must run "
                         "through the tree.")
    return steps, best


def _node(t: int, i: int, node: object) -> Node:
    where = f"step {t}, node {i}"
    if isinstance(node, (str, bytes)) or not isinstance(node, Sequence) or len(node) != 3:
        raise ValueError(f"{where}: a node is (tokens, score, status), got {node!r}.")
    tokens, score, status = node
    if isinstance(tokens, str) or not isinstance(tokens, Sequence) or not all(isinstance(w, str) for w in tokens):
        raise ValueError(f"{where}: tokens must be a list of words (strings), got {tokens!r}.")
    if len(tokens) != t:
        raise ValueError(f"{where}: a node of step {t} holds the {t} words written so far, got {len(tokens)} "
                         f"({' '.join(tokens)!r}).")
    if isinstance(score, bool) or not isinstance(score, Real) or math.isnan(score) or score > 1e-9:
        raise ValueError(f"{where}: score must be a total log-probability (a number <= 0), got {score!r}.")
    if status not in STATUSES:
        raise ValueError(f"{where}: status must be one of {', '.join(map(repr, STATUSES))}, got {status!r}.")
    return Node(tuple(tokens), float(score), status)


def draw_beam_tree(trace: Sequence[Sequence[tuple]], best: Sequence[str] | None = None, *,
                   start: str = "<sos>", title: str | None = None, ax: Axes | None = None) -> Figure:
    """Draw a beam search's tree: one column per step, a node per candidate with its word and total
    log-probability, edges to the beam it extends. Kept beams are blue, finished translations green,
    pruned candidates grey, and the path of `best` (the returned translation's words) bold.
    Returns the figure."""
    steps, best = check_trace(trace, best)
    if ax is None:
        height = max(len(step) for step in steps)
        fig, ax = plt.subplots(figsize=(1.45 * (len(steps) + 1) + 0.6, 0.62 * height + 1.4), layout="constrained")
    else:
        fig = ax.figure
    on_path = set() if best is None else {best[:t] for t in range(1, len(best) + 1)}
    position: dict[tuple[str, ...], tuple[float, float]] = {(): (0.0, 0.0)}
    rank = {(): 0.0}
    for t, nodes in enumerate(steps, start=1):
        # under its parent, best first: edges cross as little as possible
        ordered = sorted(nodes, key=lambda n: (rank[n.tokens[:-1]], -n.score))
        for r, n in enumerate(ordered):
            rank[n.tokens] = r
            position[n.tokens] = (float(t), -(r - (len(ordered) - 1) / 2))
    for t, nodes in enumerate(steps, start=1):
        for n in nodes:
            (x0, y0), (x1, y1) = position[n.tokens[:-1]], position[n.tokens]
            bold = n.tokens in on_path
            colour = "black" if bold else STYLE[n.status][1]
            ax.plot([x0 + 0.2, x1 - 0.2], [y0, y1], color=colour, lw=2.6 if bold else 1.0,
                    ls=":" if n.status == "pruned" else "-", zorder=1)
    ax.text(0, 0, start, ha="center", va="center", fontsize=9, zorder=3,
            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="black"))
    for nodes in steps:
        for n in nodes:
            face, edge, text = STYLE[n.status]
            bold = n.tokens in on_path
            x, y = position[n.tokens]
            ax.text(x, y, f"{n.tokens[-1]}\n{n.score:.2f}", ha="center", va="center", fontsize=8.5, color=text,
                    fontweight="bold" if bold else "normal", zorder=3,
                    bbox=dict(boxstyle="round,pad=0.3", fc=face, ec="black" if bold else edge, lw=2.2 if bold else 1))
    top = max(len(step) for step in steps)
    ax.set_xlim(-0.5, len(steps) + 0.5)
    ax.set_ylim(-(top - 1) / 2 - 0.7, (top - 1) / 2 + 0.7)
    ax.set_xticks(range(len(steps) + 1), ["start"] + [f"step {t}" for t in range(1, len(steps) + 1)])
    ax.tick_params(axis="x", length=0)
    ax.set_yticks([])
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    handles = [Patch(fc=STYLE[s][0], ec=STYLE[s][1], label=label) for s, label in
               (("kept", "kept beam"), ("finished", "finished (ends in <eos>)"), ("pruned", "pruned candidate"))]
    if best is not None:
        handles.append(Line2D([], [], color="black", lw=2.6, label="best translation"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(handles),
              frameon=False, fontsize=8.5)
    ax.set_title(title or "Beam search tree: word and total log-probability of every candidate", fontsize=10)
    return fig


__all__ = ["Node", "STATUSES", "check_trace", "draw_beam_tree"]

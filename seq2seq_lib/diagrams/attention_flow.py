"""The data flow of the attention model (seq2seq_lib.models.attention), with every tensor's shape.

Left, the encoder: source ids -> embedding -> bidirectional RNN -> outputs h_j (S, B, 2H). Its
final forward and backward states are concatenated and go through the bridge, Linear(2H -> H) +
tanh, to become the decoder's first hidden state (L, B, H). Middle, one step of attention: the
keys W_h h_j + b (once per sentence), the query W_s s from the decoder's previous top-layer state,
the scores e_j (S, B), the masked softmax a_j (S, B) and the context c = sum_j a_j h_j (B, 2H).
Right, the decoder step: [embedding; context] into the RNN, [output; context; embedding] into
the output layer, logits (B, V). Each box shows the symbolic shape and, when sizes are given, the
numbers.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> fig = draw_attention_flow(src_len=13, batch=3, emb_dim=32, hidden_dim=64, vocab_size=1302)
>>> any("(S, B, 2H) = (13, 3, 128)" in t.get_text() for t in fig.axes[0].texts)
True
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch
from torch import nn

from . import check_size

# part -> (face colour, edge colour)
COLOURS = {"encoder": ("#dbe9f6", "#1f77b4"), "bridge": ("#fde0c5", "#ff7f0e"),
           "attention": ("#d9f0d3", "#2ca02c"), "decoder": ("#e8dff2", "#9467bd")}


def sizes_of(model: nn.Module) -> dict[str, object]:
    """The sizes `draw_attention_flow` needs, read from an attention Seq2Seq model (models.build_model).

    >>> from seq2seq_lib.config import ModelConfig
    >>> from seq2seq_lib.models import build_model
    >>> sizes_of(build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, attention=True), 30, 40))
    {'emb_dim': 8, 'hidden_dim': 16, 'attn_dim': 16, 'vocab_size': 40, 'n_layers': 1, 'rnn_type': 'lstm'}
    """
    decoder, encoder = getattr(model, "decoder", None), getattr(model, "encoder", None)
    if not getattr(decoder, "has_attention", False) or not hasattr(decoder, "attention") or encoder is None:
        raise ValueError(f"expected an attention model (build_model with attention=True), got "
                         f"{type(model).__name__} with decoder {type(decoder).__name__}; the classic model "
                         "has no attention to draw.")
    return {"emb_dim": decoder.embedding.embedding_dim, "hidden_dim": encoder.hidden_dim,
            "attn_dim": decoder.attention.key_proj.out_features, "vocab_size": decoder.vocab_size,
            "n_layers": encoder.n_layers, "rnn_type": encoder.rnn_type}


def draw_attention_flow(model: nn.Module | None = None, *, src_len: int | None = None, batch: int | None = None,
                        emb_dim: int | None = None, hidden_dim: int | None = None, attn_dim: int | None = None,
                        vocab_size: int | None = None, n_layers: int = 1, rnn_type: str = "gru",
                        title: str | None = None, ax: Axes | None = None) -> Figure:
    """Draw the attention model's data flow with shapes. Give a model (its sizes are read with
    `sizes_of`) or the sizes; `src_len` and `batch` add this batch's numbers to every shape, and
    any size left out stays symbolic. `attn_dim` defaults to `hidden_dim`, as in the library.
    Returns the figure."""
    if model is not None:
        given = dict(emb_dim=emb_dim, hidden_dim=hidden_dim, attn_dim=attn_dim, vocab_size=vocab_size)
        if any(v is not None for v in given.values()):
            raise ValueError("give either a model or its sizes, not both: the model's own sizes are used.")
        sizes = sizes_of(model)
        emb_dim, hidden_dim, attn_dim = sizes["emb_dim"], sizes["hidden_dim"], sizes["attn_dim"]
        vocab_size, n_layers, rnn_type = sizes["vocab_size"], sizes["n_layers"], sizes["rnn_type"]
    if rnn_type not in ("gru", "lstm"):
        raise ValueError(f"rnn_type must be 'gru' or 'lstm', got {rnn_type!r}.")
    n_layers = check_size("n_layers", n_layers)
    known = {}
    for letter, name, value in (("S", "src_len", src_len), ("B", "batch", batch), ("E", "emb_dim", emb_dim),
                                ("H", "hidden_dim", hidden_dim), ("V", "vocab_size", vocab_size)):
        if value is not None:
            known[letter] = check_size(name, value)
    if attn_dim is not None:
        known["A"] = check_size("attn_dim", attn_dim)
    elif "H" in known:
        known["A"] = known["H"]
    known["L"] = n_layers

    def shape(*dims: str) -> str:
        """('S', 'B', '2H') -> '(S, B, 2H) = (13, 3, 128)' when every size is known, else symbolic."""
        symbolic = f"({', '.join(dims)})"
        values = []
        for dim in dims:
            total = 0
            for term in dim.split(" + "):  # e.g. "3H + E"
                factor, letter = (int(term[:-1]), term[-1]) if term[:-1].isdigit() else (1, term)
                if letter.isdigit():
                    total += int(letter)
                    continue
                if letter not in known:
                    return symbolic
                total += factor * known[letter]
            values.append(total)
        return f"{symbolic} = ({', '.join(map(str, values))})"

    if ax is None:
        fig, ax = plt.subplots(figsize=(14, 9.4), layout="constrained")
    else:
        fig = ax.figure
    ax.set_xlim(0, 104)
    ax.set_ylim(2, 100)
    ax.axis("off")
    boxes: dict[str, tuple[float, float, float]] = {}  # key -> (x, y, width)
    grey = "#444444"

    def box(key: str, x: float, y: float, text: str, part: str, width: float = 22.0) -> None:
        face, edge = COLOURS[part]
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 3.4), width, 6.8, boxstyle="round,pad=0.4",
                                    fc=face, ec=edge, lw=1.3, zorder=2))
        ax.text(x, y, text, ha="center", va="center", fontsize=8.3, zorder=3)
        boxes[key] = (x, y, width)

    def edge(key: str, side: str, shift: float = 0.0) -> tuple[float, float]:
        """A point on a box's side: top/bottom (shifted along x) or left/right (shifted along y)."""
        x, y, width = boxes[key]
        return {"top": (x + shift, y + 3.9), "bottom": (x + shift, y - 3.9),
                "left": (x - width / 2 - 0.5, y + shift), "right": (x + width / 2 + 0.5, y + shift)}[side]

    def path(points: list[tuple[float, float]], label: str = "", at: int = 0, dashed: bool = False) -> None:
        """Straight segments through `points`, an arrowhead at the last; the label beside segment `at`."""
        style = "--" if dashed else "-"
        for p, q in zip(points[:-2], points[1:-1]):
            ax.plot([p[0], q[0]], [p[1], q[1]], color=grey, lw=1.1, ls=style, zorder=1)
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color=grey, lw=1.1, ls=style, shrinkA=0, shrinkB=0))
        if label:
            (x0, y0), (x1, y1) = points[at], points[at + 1]
            ax.text((x0 + x1) / 2 + 0.8, (y0 + y1) / 2 + 0.9, label, fontsize=7.5, color=grey, va="bottom")

    cell = " (and cell)" if rnn_type == "lstm" else ""
    rnn = rnn_type.upper()
    # the encoder, left column
    box("src", 12, 93, f"source ids\n{shape('S', 'B')}", "encoder")
    box("emb", 12, 81, f"embedding + dropout\n{shape('S', 'B', 'E')}", "encoder")
    box("rnn", 12, 69, f"bidirectional {rnn}, {n_layers} layer(s)\nforward and backward", "encoder")
    box("outputs", 12, 55, f"encoder outputs h_j = [fwd_j; bwd_j]\n{shape('S', 'B', '2H')}", "encoder")
    # the bridge, second column
    box("final", 38, 81, f"final states{cell}, both directions\n{shape('2L', 'B', 'H')}", "bridge", 24)
    box("concat", 38, 69, f"concat [forward; backward]\n{shape('L', 'B', '2H')}", "bridge", 24)
    box("bridge", 38, 55, "bridge: tanh(Linear(2H -> H))\nfc_hidden" + (", fc_cell" if cell else ""), "bridge", 24)
    box("state", 38, 43, f"decoder state s (s_0 at the first step)\n{shape('L', 'B', 'H')}", "bridge", 24)
    # attention, bottom
    box("keys", 12, 43, f"keys W_h h_j + b, once per sentence\n{shape('S', 'B', 'A')}", "attention")
    box("query", 38, 31, f"query W_s s[-1] (top layer)\n{shape('B', 'A')}", "attention", 24)
    box("scores", 25, 19, f"scores e_j = v^T tanh(W_s s + W_h h_j + b)\n{shape('S', 'B')}", "attention", 27)
    box("weights", 25, 7, f"weights a_j: masked softmax over j\n{shape('S', 'B')}, 0 at padding", "attention", 27)
    box("context", 60, 7, f"context c = sum_j a_j h_j\n{shape('B', '2H')}", "attention", 20)
    # the decoder step, right column
    box("prev", 88, 93, f"previous token y_(t-1)\n{shape('B')}", "decoder")
    box("demb", 88, 81, f"embedding + dropout\n{shape('B', 'E')}", "decoder")
    box("rnn_in", 88, 61, f"RNN input [embedding; context]\n{shape('1', 'B', 'E + 2H')}", "decoder", 24)
    box("drnn", 88, 43, f"decoder {rnn}, {n_layers} layer(s)\noutput {shape('B', 'H')}", "decoder", 24)
    box("out_in", 88, 25, f"output layer input [output; context;\nembedding] {shape('B', '3H + E')}", "decoder", 24)
    box("logits", 88, 9, f"fc_out: logits over the vocabulary\n{shape('B', 'V')}", "decoder", 24)

    for a, b in (("src", "emb"), ("emb", "rnn"), ("final", "concat"), ("concat", "bridge"), ("bridge", "state"),
                 ("scores", "weights"), ("prev", "demb"), ("demb", "rnn_in"), ("rnn_in", "drnn"),
                 ("drnn", "out_in"), ("out_in", "logits")):
        path([edge(a, "bottom"), edge(b, "top")])
    path([edge("rnn", "bottom", -4), edge("outputs", "top", -4)], "every position")
    path([edge("rnn", "top", 8), edge("final", "left")])
    ax.text(26.3, 74, "last step of each direction", fontsize=7.5, color=grey)
    path([edge("outputs", "bottom"), edge("keys", "top")], "key_proj (W_h, b)")
    path([edge("state", "bottom"), edge("query", "top")], "query_proj (W_s)")
    path([edge("keys", "bottom", 4), edge("scores", "top", -7)])
    path([edge("query", "bottom", -4), edge("scores", "top", 7)])
    path([edge("weights", "right"), edge("context", "left")], "a_j")
    top = edge("outputs", "top", 8)
    path([top, (top[0], 63), (60, 63), edge("context", "top")], "values h_j", at=1)
    trunk = 74.5
    out = edge("context", "right")
    path([out, (trunk, out[1]), (trunk, 61), edge("rnn_in", "left")], "context c", at=1)
    path([(trunk, 25), edge("out_in", "left")])
    path([edge("state", "right", 1.5), edge("drnn", "left", 1.5)], "initial state")
    path([edge("drnn", "left", -1.5), edge("state", "right", -1.5)], dashed=True)
    ax.text(51, 38.4, "new state: the next step's s", fontsize=7.5, color=grey)
    right = edge("demb", "right")
    path([right, (102.5, right[1]), (102.5, 25), edge("out_in", "right")], "embedding", at=1)

    numbers = ", ".join(f"{k}={v}" for k, v in known.items())
    ax.legend(handles=[Patch(fc=f, ec=e, label=part) for part, (f, e) in COLOURS.items()], loc="lower right",
              fontsize=8.5, frameon=False, ncol=4, bbox_to_anchor=(1.0, -0.02))
    ax.set_title(title or f"Attention model: data flow and shapes ({numbers})", fontsize=11)
    return fig


__all__ = ["sizes_of", "draw_attention_flow"]

"""The Transformer (seq2seq_lib.models.transformer) as a diagram, with every tensor's shape.

Drawn bottom to top, as Vaswani et al. (2017) drew it. Left, the encoder: source ids, the
embedding scaled by sqrt(D) plus the sinusoidal positions, then L layers of self-attention and a
feed-forward block, each inside a residual connection with its LayerNorm, and the memory it hands
to the decoder. Right, the decoder: the target inputs, the same embedding, then L layers of masked
self-attention, cross-attention to the memory and a feed-forward block, and the output layer. Each
residual box spells out where its LayerNorm sits (pre- or post-LayerNorm), each attention which mask
it uses, and each shape its numbers when the sizes are known.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> fig = draw_transformer(src_len=13, trg_len=11, batch=3, d_model=32, ff_dim=64, n_heads=4, vocab_size=1302)
>>> any("(B, h, T, S) = (3, 4, 11, 13)" in t.get_text() for t in fig.axes[0].texts)
True
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from torch import nn

from . import check_size

# part -> (face colour, edge colour)
COLOURS = {"embedding": ("#fde0c5", "#ff7f0e"), "attention": ("#d9f0d3", "#2ca02c"),
           "feed-forward": ("#dbe9f6", "#1f77b4"), "output": ("#e8dff2", "#9467bd")}


def sizes_of(model: nn.Module) -> dict[str, object]:
    """The sizes `draw_transformer` needs, read from a Transformer (models.build_model with transformer=True).

    >>> from seq2seq_lib.config import ModelConfig
    >>> from seq2seq_lib.models import build_model
    >>> sizes_of(build_model(ModelConfig(transformer=True, emb_dim=16, hidden_dim=32, n_layers=3, n_heads=4), 30, 40))
    {'d_model': 16, 'ff_dim': 32, 'n_heads': 4, 'n_layers': 3, 'vocab_size': 40, 'pre_norm': True, 'tied': True}
    """
    from ..models.transformer import Transformer

    if not isinstance(model, Transformer):
        raise ValueError(f"expected a Transformer (build_model with ModelConfig(transformer=True)), got "
                         f"{type(model).__name__}; notebook 09's draw_attention_flow draws the attention RNN.")
    encoder, decoder = model.encoder, model.decoder
    first = encoder.layers[0]
    return {"d_model": encoder.embedding.embedding_dim, "ff_dim": first.feed_forward[0].out_features,
            "n_heads": first.self_attention.n_heads, "n_layers": len(encoder.layers),
            "vocab_size": decoder.vocab_size, "pre_norm": first.attention_block.pre_norm,
            "tied": decoder.fc_out.weight is decoder.embedding.weight}


def draw_transformer(model: nn.Module | None = None, *, src_len: int | None = None, trg_len: int | None = None,
                     batch: int | None = None, d_model: int | None = None, ff_dim: int | None = None,
                     n_heads: int | None = None, n_layers: int | None = None, vocab_size: int | None = None,
                     pre_norm: bool = True, tied: bool = True, title: str | None = None,
                     ax: Axes | None = None) -> Figure:
    """Draw the Transformer with shapes. Give a model (its sizes are read with `sizes_of`) or the
    sizes; `src_len` (S), `trg_len` (T, the decoder's inputs) and `batch` (B) add a batch's numbers
    to every shape, and any size left out stays symbolic. Returns the figure."""
    if model is not None:
        given = dict(d_model=d_model, ff_dim=ff_dim, n_heads=n_heads, n_layers=n_layers, vocab_size=vocab_size)
        if any(v is not None for v in given.values()):
            raise ValueError("give either a model or its sizes, not both: the model's own sizes are used.")
        sizes = sizes_of(model)
        d_model, ff_dim, n_heads = sizes["d_model"], sizes["ff_dim"], sizes["n_heads"]
        n_layers, vocab_size = sizes["n_layers"], sizes["vocab_size"]
        pre_norm, tied = sizes["pre_norm"], sizes["tied"]
    for name, flag in (("pre_norm", pre_norm), ("tied", tied)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, got {flag!r}.")
    known: dict[str, int] = {}
    for letter, name, value in (("S", "src_len", src_len), ("T", "trg_len", trg_len), ("B", "batch", batch),
                                ("D", "d_model", d_model), ("F", "ff_dim", ff_dim), ("h", "n_heads", n_heads),
                                ("V", "vocab_size", vocab_size), ("L", "n_layers", n_layers)):
        if value is not None:
            known[letter] = check_size(name, value)
    if "D" in known and "h" in known and known["D"] % known["h"]:
        raise ValueError(f"d_model ({known['D']}) must be divisible by n_heads ({known['h']}).")

    def shape(*dims: str) -> str:
        """('B', 'S', 'D') -> '(B, S, D) = (3, 13, 32)' when every size is known, else symbolic."""
        symbolic = f"({', '.join(dims)})"
        if all(dim in known for dim in dims):
            return f"{symbolic} = ({', '.join(str(known[dim]) for dim in dims)})"
        return symbolic

    if ax is None:
        fig, ax = plt.subplots(figsize=(11.5, 8.8), layout="constrained")
    else:
        fig = ax.figure
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.axis("off")
    grey = "#444444"
    boxes: dict[str, tuple[float, float, float, float]] = {}  # key -> (x, y, width, height)

    def box(key: str, x: float, y: float, text: str, part: str, width: float = 35.0, height: float = 6.8) -> None:
        face, edge = COLOURS[part]
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.4",
                                    fc=face, ec=edge, lw=1.3, zorder=2))
        ax.text(x, y, text, ha="center", va="center", fontsize=8.3, zorder=3)
        boxes[key] = (x, y, width, height)

    def edge(key: str, side: str, shift: float = 0.0) -> tuple[float, float]:
        x, y, width, height = boxes[key]
        return {"top": (x + shift, y + height / 2 + 0.5), "bottom": (x + shift, y - height / 2 - 0.5),
                "left": (x - width / 2 - 0.5, y + shift), "right": (x + width / 2 + 0.5, y + shift)}[side]

    def arrow(points: list[tuple[float, float]], label: str = "", at: int = 0) -> None:
        for p, q in zip(points[:-2], points[1:-1]):
            ax.plot([p[0], q[0]], [p[1], q[1]], color=grey, lw=1.1, zorder=1)
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color=grey, lw=1.1, shrinkA=0, shrinkB=0))
        if label:
            (x0, y0), (x1, y1) = points[at], points[at + 1]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.8, label, fontsize=7.5, color=grey, ha="center", va="bottom")

    def residual(sublayer: str) -> str:
        return f"x + {sublayer}(LayerNorm(x))" if pre_norm else f"LayerNorm(x + {sublayer}(x))"

    heads = "h heads" if "h" not in known else f"{known['h']} heads"
    if "D" in known and "h" in known:
        heads += f" of D/h = {known['D'] // known['h']}"
    enc_x, dec_x = 21.0, 79.0
    # the encoder, left column, bottom to top
    box("src", enc_x, 5, f"source ids\n{shape('S', 'B')}", "embedding")
    box("src_emb", enc_x, 17, f"embedding x sqrt(D) + positions, dropout\n{shape('B', 'S', 'D')}", "embedding")
    box("self", enc_x, 33, f"self-attention, {heads}, padding mask\n{residual('SelfAttention')}\n"
                           f"weights {shape('B', 'h', 'S', 'S')}", "attention", height=9.5)
    box("enc_ff", enc_x, 49, f"feed-forward D -> F -> D, ReLU\n{residual('FeedForward')}\n{shape('B', 'S', 'D')}",
        "feed-forward", height=9.5)
    memory = "final LayerNorm: memory" if pre_norm else "memory"
    box("memory", enc_x, 65, f"{memory}\n{shape('B', 'S', 'D')}", "output")
    # the decoder, right column
    box("trg", dec_x, 5, f"target inputs: <sos> and the words so far\n{shape('T', 'B')}", "embedding")
    box("trg_emb", dec_x, 17, f"embedding x sqrt(D) + positions, dropout\n{shape('B', 'T', 'D')}", "embedding")
    box("masked", dec_x, 34, f"masked self-attention, {heads}\nlook-ahead mask {shape('T', 'T')}\n"
                             f"{residual('SelfAttention')}\n{shape('B', 'T', 'D')}", "attention", height=12.0)
    box("cross", dec_x, 50.5, f"cross-attention: queries from the decoder,\nkeys and values from the memory, padding "
                            f"mask\n{residual('CrossAttention')}\nweights {shape('B', 'h', 'T', 'S')}",
        "attention", height=12.0)
    box("dec_ff", dec_x, 66.5, f"feed-forward D -> F -> D, ReLU\n{residual('FeedForward')}\n{shape('B', 'T', 'D')}",
        "feed-forward", height=9.5)
    final = "final LayerNorm, then " if pre_norm else ""
    sharing = " (its weight is the embedding's)" if tied else ""
    box("logits", dec_x, 83, f"{final}fc_out{sharing}\nlogits {shape('T', 'B', 'V')}", "output", width=37)

    for a, b in (("src", "src_emb"), ("src_emb", "self"), ("self", "enc_ff"), ("enc_ff", "memory"),
                 ("trg", "trg_emb"), ("trg_emb", "masked"), ("masked", "cross"), ("cross", "dec_ff"),
                 ("dec_ff", "logits")):
        arrow([edge(a, "top"), edge(b, "bottom")])
    out = edge("memory", "right")
    arrow([out, (50, out[1]), (50, 50.5), edge("cross", "left")])
    ax.text(51, 57, "memory:\nkeys and values", fontsize=7.5, color=grey, va="center")
    layers = f"x {known['L']} layers" if "L" in known else "x L layers"
    for x, bottom, top in ((enc_x, 26.5, 55.5), (dec_x, 26.5, 72.5)):
        ax.add_patch(Rectangle((x - 19.5, bottom), 39, top - bottom, fill=False, ls="--", ec=grey, lw=1.0, zorder=1))
        ax.text(x - 19, top + 0.6, layers, fontsize=8.5, color=grey, va="bottom")
    ax.text(enc_x, 92, "encoder", fontsize=11, ha="center", weight="bold")
    ax.text(dec_x, 92, "decoder", fontsize=11, ha="center", weight="bold")
    ax.legend(handles=[Patch(fc=f, ec=e, label=part) for part, (f, e) in COLOURS.items()], loc="upper left",
              fontsize=8.5, frameon=False, ncol=2, bbox_to_anchor=(0.0, 0.9))
    numbers = ", ".join(f"{k}={v}" for k, v in known.items())
    order = "pre-LayerNorm" if pre_norm else "post-LayerNorm"
    ax.set_title(title or f"Transformer ({order}): data flow and shapes" + (f" ({numbers})" if numbers else ""),
                 fontsize=11)
    return fig


__all__ = ["sizes_of", "draw_transformer"]

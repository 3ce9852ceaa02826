"""Figures of the recurrent seq2seq model: the encoder-decoder, one decoder step, and an LSTM cell.

Each function draws on `ax` (or on a new figure when `ax` is None) and returns the Axes, whose
texts name every part, so that a test or a reader can find them:

- `draw_encoder_decoder`: the encoder reads the source words, hands its final `hidden` and `cell`
  to the decoder, and the decoder writes the target words one step at a time (notebook 04);
- `draw_decoder_step`: one step of the decoder, from an input token to logits and probabilities
  over the target vocabulary (notebook 05);
- `draw_lstm_cell`: the gates of an LSTM and the additive path of its cell state (notebook 04).

Shapes use the letters of the code: S source length, B batch, E emb_dim, H hidden_dim,
L n_layers, V target vocabulary size.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> ax = draw_encoder_decoder(["ein", "hund"], ["a", "dog"])
>>> "hidden, cell" in {text.get_text().split("\\n")[0] for text in ax.texts}
True
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyBboxPatch

ENCODER_COLOR, DECODER_COLOR, STATE_COLOR = "#c6dbef", "#fdd0a2", "#31a354"
GATE_COLOR, HIGHLIGHT_COLOR, OP_COLOR = "#e5e5e5", "#fdae6b", "#ffffff"
MAX_TOKENS = 8
GATES = ("forget", "input", "candidate", "output")


# ---------------------------------------------------------------- checks and drawing helpers


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()) or None, got {type(ax).__name__}.")
    return ax


def _check_tokens(tokens: object, name: str) -> list[str]:
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        raise TypeError(f"{name} must be a list of words such as ['ein', 'hund'], got {type(tokens).__name__}; "
                        "split a sentence with .split() first.")
    tokens = list(tokens)
    if not 1 <= len(tokens) <= MAX_TOKENS:
        raise ValueError(f"{name} must hold 1 to {MAX_TOKENS} words so that the figure stays readable, "
                         f"got {len(tokens)}.")
    for token in tokens:
        if not isinstance(token, str) or not token.strip():
            raise ValueError(f"every word of {name} must be a non-empty string, got {token!r}.")
    return tokens


def _box(ax: Axes, x: float, y: float, text: str, color: str, width: float = 0.8, height: float = 0.6,
         fontsize: float = 9) -> FancyBboxPatch:
    """A rounded box centred at (x, y) with `text` in it."""
    box = FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
                         facecolor=color, edgecolor="#333333", linewidth=1.0)
    ax.add_patch(box)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return box


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = "#333333",
           width: float = 1.2, style: str = "-|>", label: str = "", **text_kw) -> None:
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle=style, color=color, linewidth=width, shrinkA=0, shrinkB=0))
    if label:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, label, **{"ha": "center", "va": "bottom",
                                                                             "fontsize": 8, **text_kw})


def _finish(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], title: str) -> Axes:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return ax


# ---------------------------------------------------------------- the whole model


def draw_encoder_decoder(src_tokens: Sequence[str] = ("ein", "hund", "rennt"),
                         trg_tokens: Sequence[str] = ("a", "dog", "runs"), ax: Axes | None = None,
                         title: str = "Encoder-decoder: the source is summed up in the final state") -> Axes:
    """The encoder's LSTM boxes over `src_tokens`, its final state handed to the decoder, the decoder writing `trg_tokens`.

    The encoder reads `<sos> src_tokens <eos>`; the decoder is fed `<sos> trg_tokens` and must predict
    `trg_tokens <eos>`, one box per step. Pass the words without the markers; they are added.
    """
    source = ["<sos>", *_check_tokens(src_tokens, "src_tokens"), "<eos>"]
    target = _check_tokens(trg_tokens, "trg_tokens")
    fed, predicted = ["<sos>", *target], [*target, "<eos>"]
    n_src, n_trg = len(source), len(fed)
    ax = _axes(ax, (1.05 * (n_src + n_trg + 2), 4.2))
    step, gap = 1.1, 1.6
    enc_x = [i * step for i in range(n_src)]
    dec_x = [enc_x[-1] + gap + i * step for i in range(n_trg)]
    y_word, y_box, y_out = 0.0, 1.3, 2.6

    for x, word in zip(enc_x, source):
        ax.text(x, y_word, word, ha="center", va="center", fontsize=9)
        _arrow(ax, (x, y_word + 0.2), (x, y_box - 0.32))
        _box(ax, x, y_box, "LSTM", ENCODER_COLOR)
    for left, right in zip(enc_x, enc_x[1:]):
        _arrow(ax, (left + 0.4, y_box), (right - 0.4, y_box))
    for x, word, wanted in zip(dec_x, fed, predicted):
        ax.text(x, y_word, word, ha="center", va="center", fontsize=9)
        _arrow(ax, (x, y_word + 0.2), (x, y_box - 0.32))
        _box(ax, x, y_box, "LSTM", DECODER_COLOR)
        _arrow(ax, (x, y_box + 0.32), (x, y_out - 0.2))
        ax.text(x, y_out, wanted, ha="center", va="center", fontsize=9, fontweight="bold")
    for left, right in zip(dec_x, dec_x[1:]):
        _arrow(ax, (left + 0.4, y_box), (right - 0.4, y_box))

    _arrow(ax, (enc_x[-1] + 0.4, y_box), (dec_x[0] - 0.4, y_box), color=STATE_COLOR, width=2.5)
    ax.text((enc_x[-1] + dec_x[0]) / 2, y_box + 0.45, "hidden, cell\n(L, B, H)", ha="center", va="bottom",
            fontsize=8, color=STATE_COLOR, fontweight="bold")
    ax.text(sum(enc_x) / n_src, y_out + 0.6, "encoder: reads the source, writes nothing", ha="center",
            va="center", fontsize=8)
    ax.text(sum(enc_x) / n_src, y_word - 0.5, "src (S, B): German, read one row at a time",
            ha="center", va="center", fontsize=8)
    ax.text(sum(dec_x) / n_trg, y_out + 0.6, "decoder: logits (B, V) per step, the most likely word shown",
            ha="center", va="center", fontsize=8)
    ax.text(sum(dec_x) / n_trg, y_word - 0.5, "inputs: <sos>, then the previous word",
            ha="center", va="center", fontsize=8)
    return _finish(ax, (-0.7, dec_x[-1] + 0.7), (y_word - 0.9, y_out + 0.9), title)


# ---------------------------------------------------------------- one decoder step


def draw_decoder_step(token: str = "<sos>", ax: Axes | None = None,
                      title: str = "One decoder step: a token in, a score for every target word out") -> Axes:
    """One step: input token (B,) -> embedding (1, B, E) -> LSTM step (1, B, H) -> fc_out -> logits (B, V) -> softmax.

    `hidden` and `cell` (L, B, H) come in from the step before (the encoder's, at the first step) and
    leave for the next one.
    """
    if not isinstance(token, str) or not token.strip():
        raise ValueError(f"token must be a non-empty string such as '<sos>' or 'dog', got {token!r}.")
    ax = _axes(ax, (11, 3.4))
    stages = [(f"input {token!r}\nid (B,)", GATE_COLOR),
              ("embedding\n(1, B, E)", DECODER_COLOR),
              ("LSTM step\n(1, B, H)", DECODER_COLOR),
              ("fc_out (linear)\nlogits (B, V)", DECODER_COLOR),
              ("softmax\np(y_t | y_<t, x)", GATE_COLOR)]
    xs = [i * 2.2 for i in range(len(stages))]
    y = 0.0
    for x, (text, color) in zip(xs, stages):
        _box(ax, x, y, text, color, width=1.7, height=0.9)
    for left, right in zip(xs, xs[1:]):
        _arrow(ax, (left + 0.85, y), (right - 0.85, y))
    lstm_x = xs[2]
    _arrow(ax, (lstm_x - 0.9, 1.45), (lstm_x - 0.3, 0.45), color=STATE_COLOR, width=2)
    ax.text(lstm_x - 0.95, 1.55, "hidden, cell (L, B, H)\nfrom the step before", ha="right", va="center",
            fontsize=8, color=STATE_COLOR)
    _arrow(ax, (lstm_x + 0.3, 0.45), (lstm_x + 0.9, 1.45), color=STATE_COLOR, width=2)
    ax.text(lstm_x + 0.95, 1.55, "new hidden, cell\nto the next step", ha="left", va="center",
            fontsize=8, color=STATE_COLOR)
    ax.text(xs[-1], -0.85, "one probability per target word", ha="center", va="center", fontsize=8)
    return _finish(ax, (xs[0] - 1.0, xs[-1] + 1.0), (-1.2, 2.0), title)


# ---------------------------------------------------------------- the LSTM cell


def draw_lstm_cell(highlight: str | None = None, ax: Axes | None = None,
                   title: str = "An LSTM cell: three gates and the additive cell-state path") -> Axes:
    """The gates f, i, g, o computed from [h_(t-1), x_t], and c_t = f * c_(t-1) + i * g, h_t = o * tanh(c_t).

    `highlight` (one of "forget", "input", "candidate", "output") colours that gate.
    """
    if highlight is not None and highlight not in GATES:
        raise ValueError(f"highlight must be None or one of {GATES}, got {highlight!r}.")
    ax = _axes(ax, (8.5, 4.6))
    y_cell, y_gate, y_in = 3.0, 1.0, -0.3
    gates = {"forget": (1.5, "forget gate\nf = σ(·)"), "input": (3.2, "input gate\ni = σ(·)"),
             "candidate": (4.9, "candidate\ng = tanh(·)"), "output": (6.6, "output gate\no = σ(·)")}
    for name, (x, text) in gates.items():
        _box(ax, x, y_gate, text, HIGHLIGHT_COLOR if name == highlight else GATE_COLOR, width=1.4, height=0.75,
             fontsize=8)

    # the cell-state path along the top: c_(t-1) -> x f -> + i*g -> c_t
    times_f, plus, times_ig = (1.5, y_cell), (4.0, y_cell), (4.0, 2.0)
    for (x, yy), symbol in ((times_f, "×"), (plus, "+"), (times_ig, "×")):
        ax.add_patch(Circle((x, yy), 0.22, facecolor=OP_COLOR, edgecolor="#333333"))
        ax.text(x, yy, symbol, ha="center", va="center", fontsize=12)
    _arrow(ax, (-0.6, y_cell), (times_f[0] - 0.22, y_cell), color=STATE_COLOR, width=2.5)
    ax.text(-0.6, y_cell + 0.3, "c_(t-1)", ha="left", va="center", fontsize=9, color=STATE_COLOR)
    _arrow(ax, (times_f[0] + 0.22, y_cell), (plus[0] - 0.22, y_cell), color=STATE_COLOR, width=2.5)
    _arrow(ax, (plus[0] + 0.22, y_cell), (8.4, y_cell), color=STATE_COLOR, width=2.5)
    ax.text(8.4, y_cell + 0.3, "c_t", ha="right", va="center", fontsize=9, color=STATE_COLOR)
    ax.text(6.0, y_cell + 0.55, "cell state: only × f and + i·g, an additive path", ha="center", va="center",
            fontsize=8, color=STATE_COLOR)

    # gates into the path
    _arrow(ax, (1.5, y_gate + 0.38), (times_f[0], y_cell - 0.22))
    _arrow(ax, (3.2, y_gate + 0.38), (times_ig[0] - 0.2, times_ig[1] - 0.1))
    _arrow(ax, (4.9, y_gate + 0.38), (times_ig[0] + 0.2, times_ig[1] - 0.1))
    _arrow(ax, (times_ig[0], times_ig[1] + 0.22), (plus[0], y_cell - 0.22))

    # output: h_t = o * tanh(c_t)
    times_o = (7.4, 2.0)
    ax.add_patch(Circle(times_o, 0.22, facecolor=OP_COLOR, edgecolor="#333333"))
    ax.text(*times_o, "×", ha="center", va="center", fontsize=12)
    _arrow(ax, (times_o[0], y_cell), (times_o[0], times_o[1] + 0.22))
    ax.text(times_o[0] + 0.1, 2.55, "tanh", ha="left", va="center", fontsize=8)
    _arrow(ax, (6.6, y_gate + 0.38), (times_o[0] - 0.2, times_o[1] - 0.1))
    _arrow(ax, (times_o[0] + 0.22, times_o[1]), (8.4, times_o[1]))
    ax.text(8.4, times_o[1] - 0.3, "h_t", ha="right", va="center", fontsize=9)

    # inputs of every gate
    ax.plot([0.8, 6.6], [y_in, y_in], color="#333333", linewidth=1.2)
    for x, _ in gates.values():
        _arrow(ax, (x, y_in), (x, y_gate - 0.38))
    ax.text(-0.6, y_in, "[h_(t-1), x_t]", ha="left", va="center", fontsize=9)
    return _finish(ax, (-0.8, 8.6), (-0.8, 3.9), title)

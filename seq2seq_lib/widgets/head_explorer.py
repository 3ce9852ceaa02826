"""Every layer and every head of a Transformer: the logic of notebook 11's attention-head explorer.

A Transformer has no single attention map. Each of its L layers has h heads, and each head
attends twice over: the encoder's heads relate source words to source words (self-attention),
the decoder's cross-attention heads relate the words being written to the source. `head_maps`
translates one sentence with a Translator and keeps all of them (from
`Transformer.attention_maps`, run on the sentence the decoder actually wrote), `head_view` picks
one layer and one head (or their mean) as a heatmap, `token_view` follows one token through
every head of a layer, and `describe_view` / `head_summary` put what they show into words.
`draw_view` draws a view; `head_explorer` wires menus to all of it with ipywidgets (7.6 and
later, 8 included).

>>> maps = HeadMaps(["<sos>", "hund", "<eos>"], ["dog", "<eos>"],
...                 np.full((1, 2, 3, 3), 1 / 3), np.array([[[[.1, .8, .1], [.2, .2, .6]]] * 2]), "dog")
>>> view = head_view(maps, "cross", layer=0, head=1)
>>> view.title
'decoder cross-attention, layer 1 of 1, head 2 of 2'
>>> describe_view(view).splitlines()[1]
'dog <- hund (80%), <eos> <- <eos> (60%)'
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..decode import evaluating
from ..models.transformer import Transformer
from ..precision import autocast
from ..translator import Translator
from .attention_explorer import sentence_choices

KINDS = {"cross": "decoder cross-attention", "encoder": "encoder self-attention"}
MEAN = "mean"  # the head choice that averages every head of the layer
EVERY_TOKEN = "every token"  # the token choice that shows one head for every token


@dataclass(frozen=True)
class HeadMaps:
    """One translated sentence and all of its attention weights, as numpy arrays.

    `encoder[l, k, i, j]`: in layer l, head k, how much source token i read source token j.
    `cross[l, k, t, j]`: in layer l, head k, how much the decoder read source token j while
    writing output token t. Every row sums to 1.
    """

    source: list[str]  # the tokens the encoder read, with <sos> and <eos>
    output: list[str]  # the output tokens, then <eos> if the model wrote it
    encoder: np.ndarray  # (L, h, S, S)
    cross: np.ndarray  # (L, h, T, S)
    text: str  # the translation as text

    def __post_init__(self) -> None:
        S, T = len(self.source), len(self.output)
        if self.encoder.ndim != 4 or self.encoder.shape[2:] != (S, S):
            raise ValueError(f"encoder must be (layers, heads, S, S) with S = len(source) = {S}, "
                             f"got {self.encoder.shape}.")
        if self.cross.shape != (*self.encoder.shape[:2], T, S):
            raise ValueError(f"cross must be (layers, heads, T, S) = {(*self.encoder.shape[:2], T, S)} "
                             f"(T = len(output), S = len(source)), got {self.cross.shape}.")

    @property
    def n_layers(self) -> int:
        return self.encoder.shape[0]

    @property
    def n_heads(self) -> int:
        return self.encoder.shape[1]

    def rows(self, kind: str) -> list[str]:
        """The tokens whose attention the rows of `kind` hold: source tokens or output tokens."""
        return list(self.output if check_kind(kind) == "cross" else self.source)


@dataclass(frozen=True)
class HeadView:
    """A 2-D slice of a HeadMaps, ready to draw: `weights[i, j]` for row label i and column label j."""

    weights: np.ndarray  # (len(rows), len(columns))
    rows: list[str]
    columns: list[str]
    row_axis: str  # what the rows are, for the figure's y label
    column_axis: str
    title: str


def check_kind(kind: object) -> str:
    """`kind` if it names one of the two attentions the explorer shows, else an error listing them."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)} "
                         f"({', '.join(KINDS.values())}), got {kind!r}.")
    return kind  # type: ignore[return-value]


def _check_index(name: str, value: object, size: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        raise ValueError(f"{name} must be an integer from 0 to {size - 1} (this model has {size} {what}; "
                         f"counted from 0 here, shown from 1 in the menus), got {value!r}.")
    return int(value)


def head_maps(translator: Translator, text: str, beam_size: int = 1, max_len: int = 50) -> HeadMaps:
    """Translate `text` and return every layer's and head's attention for that translation.

    The decoder's maps come from one teacher-forced pass over what the model wrote (`<sos>` and
    every output token but the last): the same inputs it saw step by step, so the last layer's
    mean over heads equals the attention `translate(..., details=True)` reports.
    """
    if not isinstance(translator, Translator):
        raise TypeError(f"Expected a seq2seq_lib Translator, got {type(translator).__name__}.")
    model = translator.model
    if not isinstance(model, Transformer):
        raise TypeError(f"This Translator's model is a {type(model).__name__}, not a Transformer: it has no "
                        "layers of attention heads to show. Use a model built with "
                        "ModelConfig(transformer=True), or the attention explorer of notebook 09 for an "
                        "RNN with attention.")
    result = translator.translate(text, beam_size=beam_size, max_len=max_len, details=True)
    src_vocab, trg_vocab = translator.src_field.vocab, translator.trg_field.vocab
    device = translator.device
    src = torch.tensor(src_vocab.lookup_indices(result.source), device=device).unsqueeze(1)  # (S, 1)
    decoder_inputs = [translator.sos_idx] + trg_vocab.lookup_indices(result.output_labels[:-1])
    trg_in = torch.tensor(decoder_inputs, device=device).unsqueeze(1)  # (T, 1)
    with evaluating(model, fast=False), autocast(device, translator.precision):
        encoder_maps, cross_maps = model.attention_maps(src, trg_in)  # [(1, h, S, S)] * L, [(1, h, T, S)] * L

    def stacked(maps: list[torch.Tensor]) -> np.ndarray:
        return torch.stack([m[0] for m in maps]).float().cpu().numpy()  # (L, h, rows, S)

    return HeadMaps(list(result.source), result.output_labels, stacked(encoder_maps), stacked(cross_maps),
                    result.text)


def head_view(maps: HeadMaps, kind: str = "cross", layer: int = 0, head: int | str = 0) -> HeadView:
    """One head of one layer (or, with head=MEAN, the layer's mean over heads) as a heatmap."""
    kind = check_kind(kind)
    layer = _check_index("layer", layer, maps.n_layers, "layers")
    stack = (maps.cross if kind == "cross" else maps.encoder)[layer]  # (h, rows, S)
    if head == MEAN:
        weights, which = stack.mean(axis=0), f"mean of the {maps.n_heads} heads"
    else:
        head = _check_index("head", head, maps.n_heads, "heads")
        weights, which = stack[head], f"head {head + 1} of {maps.n_heads}"
    rows_axis = "output (English)" if kind == "cross" else "source token attending (German)"
    return HeadView(weights, maps.rows(kind), list(maps.source), rows_axis, "source (German)",
                    f"{KINDS[kind]}, layer {layer + 1} of {maps.n_layers}, {which}")


def token_view(maps: HeadMaps, kind: str = "cross", layer: int = 0, token: int = 0) -> HeadView:
    """Row `token` of every head of one layer, and their mean: where each head sends that token's attention."""
    kind = check_kind(kind)
    layer = _check_index("layer", layer, maps.n_layers, "layers")
    rows = maps.rows(kind)
    token = _check_index("token", token, len(rows), "rows of tokens for this attention")
    stack = (maps.cross if kind == "cross" else maps.encoder)[layer][:, token]  # (h, S)
    weights = np.concatenate([stack, stack.mean(axis=0, keepdims=True)])  # (h + 1, S)
    labels = [f"head {k + 1}" for k in range(maps.n_heads)] + ["mean"]
    return HeadView(weights, labels, list(maps.source), "head", "source (German)",
                    f"{KINDS[kind]}, layer {layer + 1} of {maps.n_layers}: every head for {rows[token]!r}")


def strongest(view: HeadView) -> list[tuple[str, str, float]]:
    """For each row of the view, the column it reads most and that weight.

    >>> view = HeadView(np.array([[0.3, 0.7], [0.9, 0.1]]), ["a", "b"], ["x", "y"], "", "", "")
    >>> strongest(view)
    [('a', 'y', 0.7), ('b', 'x', 0.9)]
    """
    best = view.weights.argmax(axis=1)
    return [(row, view.columns[j], round(float(view.weights[i, j]), 4))
            for i, (row, j) in enumerate(zip(view.rows, best))]


def describe_view(view: HeadView) -> str:
    """Two lines: the view's title with how sharp its rows are, then each row's most-read column."""
    peak = float(view.weights.max(axis=1).mean())
    links = ", ".join(f"{row} <- {column} ({weight:.0%})" for row, column, weight in strongest(view))
    return (f"{view.title}: the most-read token takes {peak:.0%} of a row on average "
            f"(uniform: {1 / len(view.columns):.0%})\n{links}")


def head_summary(maps: HeadMaps, kind: str = "encoder", layer: int = 0) -> list[dict[str, Any]]:
    """What each head of a layer mostly does, one dict per head.

    `sharpness` is the mean over rows of the largest weight (1 / S for a head that spreads evenly,
    1 for one that reads a single token). For encoder self-attention, `offset` is the most common
    distance from a token to the token it reads most (-1: the previous token, 0: itself, +1: the
    next) and `share` the fraction of tokens that follow it: heads with a high share are the
    positional heads Voita et al. (2019) found in trained translation models.
    """
    kind = check_kind(kind)
    layer = _check_index("layer", layer, maps.n_layers, "layers")
    summary = []
    for head in range(maps.n_heads):
        weights = (maps.cross if kind == "cross" else maps.encoder)[layer, head]  # (rows, S)
        entry: dict[str, Any] = {"head": head + 1, "sharpness": round(float(weights.max(axis=1).mean()), 4)}
        if kind == "encoder":
            offsets = weights.argmax(axis=1) - np.arange(weights.shape[0])
            values, counts = np.unique(offsets, return_counts=True)
            entry["offset"] = int(values[counts.argmax()])
            entry["share"] = round(float(counts.max() / len(offsets)), 4)
        summary.append(entry)
    return summary


def summary_text(maps: HeadMaps, kind: str, layer: int) -> str:
    """`head_summary` as one line per head."""
    lines = []
    for entry in head_summary(maps, kind, layer):
        line = f"head {entry['head']}: its most-read token gets {entry['sharpness']:.0%} of a row on average"
        if "offset" in entry:
            line += (f"; that token is most often at offset {entry['offset']:+d} from the reader "
                     f"({entry['share']:.0%} of the rows)")
        lines.append(line)
    return "\n".join(lines)


def draw_view(view: HeadView, ax: Any = None, colorbar: bool = True) -> Any:
    """Draw a view with `seq2seq_lib.plots.plot_attention` and its own axis labels; returns the Axes."""
    from ..plots import plot_attention

    ax = plot_attention(view.weights, view.columns, view.rows, ax=ax, title=view.title, colorbar=colorbar)
    ax.set_xlabel(view.column_axis)
    ax.set_ylabel(view.row_axis)
    return ax


def explorer_view(maps: HeadMaps, kind: str, layer: int, head: int | str, token: int | str = EVERY_TOKEN
                  ) -> tuple[HeadView, str]:
    """What the explorer shows for one setting of its menus: the view and the text above it."""
    if token == EVERY_TOKEN:
        view = head_view(maps, kind, layer, head)
    else:
        view = token_view(maps, kind, layer, token)  # type: ignore[arg-type]
    return view, f"Model: {maps.text}\n{describe_view(view)}"


def token_choices(maps: HeadMaps, kind: str) -> list[tuple[str, int | str]]:
    """(label, value) options of the token menu: every token, then each row's token by position.

    >>> maps = HeadMaps(["<sos>", "hund", "<eos>"], ["dog", "<eos>"], np.full((1, 1, 3, 3), 1 / 3),
    ...                 np.full((1, 1, 2, 3), 1 / 3), "dog")
    >>> token_choices(maps, "cross")
    [('every token', 'every token'), ('1: dog', 0), ('2: <eos>', 1)]
    """
    return [(EVERY_TOKEN, EVERY_TOKEN)] + [(f"{i + 1}: {token}", i) for i, token in enumerate(maps.rows(kind))]


def head_choices(n_heads: int) -> list[tuple[str, int | str]]:
    """(label, value) options of the head menu: each head, numbered from 1, then their mean."""
    if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads < 1:
        raise ValueError(f"n_heads must be a positive integer, got {n_heads!r}.")
    return [(f"head {k + 1}", k) for k in range(n_heads)] + [(f"mean of the {n_heads} heads", MEAN)]


def layer_choices(n_layers: int) -> list[tuple[str, int]]:
    """(label, value) options of the layer menu, numbered from 1 (the layer nearest the input)."""
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
        raise ValueError(f"n_layers must be a positive integer, got {n_layers!r}.")
    return [(f"layer {i + 1}", i) for i in range(n_layers)]


def _text_html(text: str) -> str:
    return f'<pre style="white-space: pre-wrap; margin: 0;">{html.escape(text)}</pre>'


def head_explorer(translators: Translator | Mapping[str, Translator], pairs: Sequence[tuple[str, str]],
                  index: int = 0, beam_size: int = 1, kind: str = "cross") -> Any:
    """Menus for the model, sentence, attention, layer, head and token, wired to the view (an ipywidgets VBox).

    `translators` is one Translator or a mapping from labels to Translators (the first is shown
    first); `pairs` are (German, English) pairs, of which the first 40 are offered.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    models = {"model": translators} if isinstance(translators, Translator) else dict(translators)
    if not models:
        raise ValueError("translators must be a Translator or a non-empty mapping of labels to Translators.")
    for label, translator in models.items():
        if not isinstance(translator, Translator) or not isinstance(translator.model, Transformer):
            raise TypeError(f"{label!r} must be a Translator of a Transformer, got "
                            f"{type(getattr(translator, 'model', translator)).__name__}.")
    choices = sentence_choices(pairs)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(choices):
        raise ValueError(f"index must be an integer in [0, {len(choices)}), got {index!r}.")
    check_kind(kind)
    cache: dict[tuple[str, int], HeadMaps] = {}

    def current_maps() -> HeadMaps:
        key = (model_menu.value, sentence_menu.value)
        if key not in cache:
            cache[key] = head_maps(models[key[0]], pairs[key[1]][0], beam_size=beam_size)
        return cache[key]

    wide = widgets.Layout(width="90%")
    model_menu = widgets.Dropdown(options=list(models), value=next(iter(models)), description="model:", layout=wide)
    sentence_menu = widgets.Dropdown(options=choices, value=index, description="sentence:", layout=wide)
    kind_menu = widgets.Dropdown(options=[(name, key) for key, name in KINDS.items()], value=kind,
                                 description="attention:")
    layer_menu = widgets.Dropdown(options=[("layer 1", 0)], value=0, description="layer:")
    head_menu = widgets.Dropdown(options=[("head 1", 0)], value=0, description="head:")
    token_menu = widgets.Dropdown(options=[(EVERY_TOKEN, EVERY_TOKEN)], value=EVERY_TOKEN, description="token:")
    for control, name in ((model_menu, "model"), (sentence_menu, "sentence"), (kind_menu, "kind"),
                          (layer_menu, "layer"), (head_menu, "head"), (token_menu, "token")):
        control.add_class(f"seq2seq-head-{name}")
    text = widgets.HTML(value="")
    text.add_class("seq2seq-head-text")
    figure = widgets.Output()
    figure.add_class("seq2seq-head-figure")
    updating = [False]  # True while the menus' options are being replaced: no redraw for each change

    def set_options(menu: Any, options: list, keep: object) -> None:
        values = [value for _, value in options]
        menu.options = options
        menu.value = keep if keep in values else values[0]

    def refresh_menus() -> HeadMaps:
        maps = current_maps()
        updating[0] = True
        try:
            set_options(layer_menu, layer_choices(maps.n_layers), layer_menu.value)
            set_options(head_menu, head_choices(maps.n_heads), head_menu.value)
            # other tokens now: back to every token
            set_options(token_menu, token_choices(maps, kind_menu.value), EVERY_TOKEN)
        finally:
            updating[0] = False
        return maps

    def draw(maps: HeadMaps) -> None:
        view, description = explorer_view(maps, kind_menu.value, layer_menu.value, head_menu.value,
                                          token_menu.value)
        text.value = _text_html(description)
        head_menu.disabled = token_menu.value != EVERY_TOKEN  # a token's view shows every head at once
        with figure:
            figure.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(min(4 + 0.45 * len(view.columns), 13), min(2 + 0.38 * len(view.rows), 10)),
                                   layout="constrained")
            draw_view(view, ax=ax)
            display(fig)
            plt.close(fig)

    def on_source_change(change: object = None) -> None:
        if not updating[0]:
            draw(refresh_menus())

    def on_view_change(change: object = None) -> None:
        if not updating[0]:
            draw(current_maps())

    for control in (model_menu, sentence_menu, kind_menu):
        control.observe(on_source_change, names="value")
    for control in (layer_menu, head_menu, token_menu):
        control.observe(on_view_change, names="value")
    on_source_change()
    menus = ([model_menu] if len(models) > 1 else []) + [sentence_menu]
    row = widgets.HBox([kind_menu, layer_menu, head_menu, token_menu], layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox(menus + [row, text, figure])
    box.add_class("seq2seq-head-explorer")
    return box


__all__ = ["KINDS", "MEAN", "EVERY_TOKEN", "HeadMaps", "HeadView", "check_kind", "head_maps", "head_view",
           "token_view", "strongest", "describe_view", "head_summary", "summary_text", "draw_view",
           "explorer_view", "token_choices", "head_choices", "layer_choices", "head_explorer"]

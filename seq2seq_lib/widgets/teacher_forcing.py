"""Teacher forcing step by step, for the teacher-forcing-ratio widget of notebook 06.

`teacher_forcing_trace` replays what `Seq2Seq.forward` does for one sentence, one decoder step at
a time: which token the decoder is fed (the gold one or its own last guess) and what it predicts.
It draws the same coins as `forward` does after `torch.manual_seed(seed)`, so the trace shows what
a training step would see (with dropout off). `format_trace_html` renders the rows as an HTML
table for an ipywidgets Output.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from numbers import Integral
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..fields import Field
from ..models.seq2seq import teacher_forcing_coins

SOURCES = ("start", "gold", "model")
COLORS = {"start": "#e2e3e5", "gold": "#d4edda", "model": "#fde2c8"}
SOURCE_LABELS = {"start": "start (&lt;sos&gt;)", "gold": "gold (teacher)", "model": "model's guess"}


class TraceRow(NamedTuple):
    """One decoder step: it is fed `fed` (taken from `source`) and should predict trg[step]."""

    step: int  # t: this step fills outputs[t] and is scored against trg[t]
    source: str  # "start" (<sos>, step 1), "gold" (trg[t-1]) or "model" (its prediction at t-1)
    fed_id: int
    fed: str
    target_id: int
    target: str
    predicted_id: int
    predicted: str
    probability: float  # the softmax probability of `predicted`

    @property
    def correct(self) -> bool:
        return self.predicted_id == self.target_id


def input_sources(n_steps: int, ratio: float, seed: int) -> list[str]:
    """Where the input of each of the `n_steps` decoder steps comes from, as `Seq2Seq.forward` decides.

    Step 1 always starts from `<sos>`; then `teacher_forcing_coins`, the function `forward` uses,
    decides each step. `forward` draws from torch's global generator (after
    `torch.manual_seed(seed)`, say); here a private generator seeded with `seed` draws the same
    numbers, leaving the global one alone.

    >>> input_sources(4, 1.0, seed=0)
    ['start', 'gold', 'gold', 'gold']
    >>> input_sources(4, 0.0, seed=0)
    ['start', 'model', 'model', 'model']
    >>> input_sources(6, 0.5, seed=0) == input_sources(6, 0.5, seed=0)
    True
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1 (the target length minus 1), got {n_steps!r}.")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be a number in [0, 1] (the teacher-forcing ratio), got {ratio!r}.")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    gold = teacher_forcing_coins(n_steps, ratio, torch.Generator().manual_seed(int(seed)))
    return ["start"] + ["gold" if coin else "model" for coin in gold[: n_steps - 1]]


def _as_ids(sentence: object, field: Field | None, name: str) -> list[int]:
    """Ids of a sentence given as text (needs `field`), a 1-D tensor or a list of ids."""
    if isinstance(sentence, str):
        if field is None or field.vocab is None:
            raise ValueError(f"{name} is text, so pass the {name}_field (with its vocabulary) to turn it "
                             "into ids, or pass the ids themselves.")
        return field.numericalize(field.preprocess(sentence))
    if isinstance(sentence, Tensor):
        if sentence.dim() == 2 and sentence.shape[1] == 1:
            sentence = sentence[:, 0]
        if sentence.dim() != 1:
            raise ValueError(f"{name} must be one sentence: a 1-D tensor of ids or a (seq_len, 1) column, "
                             f"got shape {tuple(sentence.shape)}; pick one column with batch.{name}[:, i].")
        sentence = sentence.tolist()
    if not isinstance(sentence, Sequence) or not all(
            isinstance(i, Integral) and not isinstance(i, bool) for i in sentence):
        raise ValueError(f"{name} must be a sentence (text), a 1-D tensor of ids or a list of ids, "
                         f"got {type(sentence).__name__}.")
    return [int(i) for i in sentence]


def _token(field: Field | None, index: int) -> str:
    if field is None or field.vocab is None:
        return str(index)
    return field.vocab.lookup_tokens([index])[0]


@torch.no_grad()
def teacher_forcing_trace(model: nn.Module, src: object, trg: object, ratio: float, seed: int = 0,
                          src_field: Field | None = None, trg_field: Field | None = None) -> list[TraceRow]:
    """Decode one sentence step by step with teacher forcing `ratio` -> one TraceRow per step t = 1..T-1.

    `src` and `trg` are text (with their fields), 1-D id tensors or id lists; `trg` starts with
    `<sos>`. The model is run with dropout off and left in the mode it was in. Its predictions
    are `model(src, trg, ratio).argmax(-1)[1:]` after `torch.manual_seed(seed)` (in eval mode).
    """
    if not hasattr(model, "encode") or not hasattr(getattr(model, "decoder", None), "step"):
        raise TypeError(f"model must be a seq2seq_lib Seq2Seq (with encode and decoder.step), "
                        f"got {type(model).__name__}.")
    src_ids, trg_ids = _as_ids(src, src_field, "src"), _as_ids(trg, trg_field, "trg")
    if len(src_ids) == 0:
        raise ValueError("src is empty; give the German sentence (its ids start with <sos>).")
    if len(trg_ids) < 2:
        raise ValueError(f"trg needs <sos> and at least one more token, got {len(trg_ids)} id(s).")
    if trg_ids[0] != model.sos_idx:
        raise ValueError(f"trg must start with <sos> (id {model.sos_idx}), but starts with id {trg_ids[0]}; "
                         "numericalize adds it, so pass field.numericalize(tokens).")
    for name, ids, size in (("src", src_ids, model.encoder.embedding.num_embeddings),
                            ("trg", trg_ids, model.decoder.vocab_size)):
        if not all(0 <= i < size for i in ids):
            raise ValueError(f"{name} holds ids outside this model's vocabulary of {size} (from {min(ids)} to "
                             f"{max(ids)}); make them with the model's own fields (pass src_field= and trg_field=).")
    sources = input_sources(len(trg_ids) - 1, ratio, seed)
    device = next(model.parameters()).device
    trg_tensor = torch.tensor(trg_ids, dtype=torch.long, device=device)  # (T,)
    was_training = model.training
    model.eval()
    rows: list[TraceRow] = []
    try:
        state = model.encode(torch.tensor(src_ids, dtype=torch.long, device=device).unsqueeze(1))  # (S, 1)
        for step, source in enumerate(sources, start=1):
            fed_id = trg_ids[step - 1] if source != "model" else rows[-1].predicted_id
            logits, state, _ = model.decoder.step(trg_tensor.new_tensor([fed_id]), state)  # (1, V)
            probs = torch.softmax(logits[0].float(), dim=-1)  # (V,)
            predicted_id = int(probs.argmax())
            rows.append(TraceRow(step, source, fed_id, _token(trg_field, fed_id), trg_ids[step],
                                 _token(trg_field, trg_ids[step]), predicted_id,
                                 _token(trg_field, predicted_id), float(probs[predicted_id])))
    finally:
        model.train(was_training)
    return rows


def trace_summary(rows: Sequence[TraceRow]) -> dict[str, int]:
    """Counts of a trace: steps, inputs from gold and from the model, correct predictions.

    >>> row = TraceRow(1, "start", 2, "<sos>", 4, "a", 4, "a", 0.5)
    >>> trace_summary([row, row._replace(step=2, source="model", predicted_id=5)])
    {'steps': 2, 'gold': 0, 'model': 1, 'correct': 1}
    """
    if not all(isinstance(row, TraceRow) for row in rows):
        raise TypeError("trace_summary takes the list of TraceRow that teacher_forcing_trace returns.")
    return {"steps": len(rows), "gold": sum(row.source == "gold" for row in rows),
            "model": sum(row.source == "model" for row in rows),
            "correct": sum(row.correct for row in rows)}


def format_trace_html(rows: Sequence[TraceRow], title: str = "") -> str:
    """An HTML table of a trace: one row per step, the input's source coloured, predictions marked."""
    if not rows:
        raise ValueError("The trace is empty; teacher_forcing_trace returns one row per target token.")
    summary = trace_summary(rows)
    cell = "padding:2px 10px;border-bottom:1px solid #ddd;text-align:left"
    head = "".join(f'<th style="{cell}">{name}</th>' for name in (
        "t", "fed to the decoder", "taken from", "should predict trg[t]", "predicts (argmax of outputs[t])", "p"))
    body = []
    for row in rows:
        mark = ('<span style="color:#1a7f37">✓</span>' if row.correct
                else '<span style="color:#c62828">✗</span>')
        body.append(
            f'<tr><td style="{cell}">{row.step}</td>'
            f'<td style="{cell};background:{COLORS[row.source]}"><code>{html.escape(row.fed)}</code></td>'
            f'<td style="{cell};background:{COLORS[row.source]}">{SOURCE_LABELS[row.source]}</td>'
            f'<td style="{cell}"><code>{html.escape(row.target)}</code></td>'
            f'<td style="{cell}">{mark} <code>{html.escape(row.predicted)}</code></td>'
            f'<td style="{cell}">{row.probability:.2f}</td></tr>')
    after_first = summary["steps"] - 1
    caption = (f"{summary['gold']} of {after_first} inputs after &lt;sos&gt; were gold, "
               f"{summary['model']} were the model's own guesses; "
               f"{summary['correct']} of {summary['steps']} predictions are right.")
    title_html = f"<p><b>{html.escape(title)}</b></p>" if title else ""
    return (f'{title_html}<table style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table><p>{caption}</p>")


__all__ = ["TraceRow", "SOURCES", "input_sources", "teacher_forcing_trace", "trace_summary",
           "format_trace_html"]

"""Score any model of the series by one protocol, with 95% confidence intervals and paired p-values.

The protocol, the same for every model and the one `python -m seq2seq_lib evaluate` follows:
translate the test sentences with the model's Translator (greedy, and beam search for each beam
size asked), then score
- token BLEU, the series' corpus BLEU on lowercased words (`metrics.token_bleu` of
  `metrics.bleu_token_lists`): a word model's own output words, and for a subword model its
  detokenized text cut into words by the word tokenizer, against the references cut alike;
- sacreBLEU and chrF on the detokenized text (signatures in the report and below the table);
- teacher-forced perplexity per target token of the model's own vocabulary (per word or per
  subword piece: comparable only between models with the same vocabulary).
Every score comes with a percentile-bootstrap 95% interval over test sentences, and each model
is compared with the baseline (or every other model) decoded the same way by a paired bootstrap
(Koehn, 2004): p is the share of resampled test sets in which the model does not beat the other.
`seq2seq_lib.significance` explains the method. In a notebook:
`report = score_models(["attention", "classic"], load_multi30k("test"))`, then
`display(Markdown(markdown_table(report)))`; `tools/score_models.py` is the command line.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import significance as sig
from .batching import BucketIterator
from .evaluation import sentence_nll
from .fields import Field
from .metrics import bleu_token_lists, check_pairs
from .models import count_parameters
from .prepare import numericalize_pairs
from .pretrained import available
from .subwords import SubwordField
from .translator import Translator

PRETRAINED = "pretrained:"
PAIRED = ("token_bleu", "sacrebleu", "chrf")  # the metrics compared between models
NAMES = {"perplexity_teacher_forced": "test ppl (teacher-forced)", "token_bleu": "token BLEU",
         "sacrebleu": "sacreBLEU", "chrf": "chrF"}


class ScoringError(ValueError):
    """A model, baseline or document the tool cannot use; the message says what to change."""


@dataclass
class Scored:
    """One model decoded one way: `record` (JSON-ready scores and settings) and the per-sentence statistics."""

    record: dict
    statistics: dict[str, sig.SentenceStatistics]


def vocabulary_kind(field: Field) -> str:
    """'subwords' for a field of BPE pieces (`subwords.SubwordField`), else 'words'."""
    return "subwords" if isinstance(field, SubwordField) else "words"


def teacher_forced_nll(translator: Translator, pairs: list[tuple[str, str]], batch_size: int = 256
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each reference's teacher-forced NLL sum and token count under the model, (N,) each, in the order of `pairs`."""
    examples = numericalize_pairs(pairs, translator.src_field, translator.trg_field)
    pad_idx = translator.trg_field.vocab[translator.trg_field.pad_token]
    batches = BucketIterator(examples, batch_size, pad_idx, device=translator.device, shuffle=False)
    nll, tokens = sentence_nll(translator.model, batches, translator.device, "fp32", translator.fast)
    order = [i for batch in batches.sampler.batches() for i in batch]  # the sentences as the batches hold them
    in_order_nll, in_order_tokens = np.empty(len(pairs)), np.empty(len(pairs), dtype=np.int64)
    in_order_nll[order], in_order_tokens[order] = nll.numpy(), tokens.numpy()
    return in_order_nll, in_order_tokens


def score_translator(translator: Translator, pairs: list[tuple[str, str]], beam_size: int = 1,
                     counts: np.ndarray | None = None, n_resamples: int = sig.DEFAULT_RESAMPLES, seed: int = 0,
                     batch_size: int = 256, label: str = "model",
                     nll: tuple[np.ndarray, np.ndarray] | None = None) -> Scored:
    """Translate the sources of (source, reference) pairs and score them with every metric and its interval.

    The point estimates are what `metrics.evaluate_bleu` and `evaluation.evaluate_checkpoint`
    report; sacreBLEU and chrF lowercase when the target field does.

    `counts` (R, N) are the bootstrap resamples (`significance.resample_counts`; by default R
    seeded ones); pass the same to every model that is to be compared. `nll` may be given from
    `teacher_forced_nll` to reuse it across beam sizes.
    """
    if not isinstance(translator, Translator):
        raise TypeError(f"Expected a Translator, got {type(translator).__name__}; use Translator.from_pretrained "
                        "or Translator.from_checkpoint.")
    if not isinstance(pairs, list) or not pairs or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise ValueError("pairs must be a non-empty list of (source, reference) tuples, e.g. load_multi30k('test').")
    counts = sig.resample_counts(len(pairs), n_resamples, seed) if counts is None else counts
    began = time.perf_counter()
    results = translator.translate_batch([de for de, _ in pairs], beam_size, batch_size=batch_size)
    decode_seconds = time.perf_counter() - began
    hypotheses, references = [r.text for r in results], [en for _, en in pairs]
    field = translator.trg_field
    nll_sums, token_counts = teacher_forced_nll(translator, pairs, batch_size) if nll is None else nll
    statistics = {"perplexity_teacher_forced": sig.perplexity_sentences(nll_sums, token_counts),
                  "token_bleu": sig.token_bleu_sentences(*bleu_token_lists(field, results, references)),
                  "sacrebleu": sig.sacrebleu_sentences(hypotheses, references, field.lower),
                  "chrf": sig.chrf_sentences(hypotheses, references, field.lower)}
    record = {"label": label, "beam_size": beam_size, "parameters": count_parameters(translator.model),
              "vocabulary": vocabulary_kind(field),
              "vocab_sizes": [len(translator.src_field.vocab), len(field.vocab)],
              "sentences": len(pairs), "decode_seconds": round(decode_seconds, 2)}
    for name, stats in statistics.items():
        interval = sig.confidence_interval(stats, counts)
        record[name] = {"value": interval.value, "low": interval.low, "high": interval.high}
    record.update(sacrebleu_signature=statistics["sacrebleu"].signature, chrf_signature=statistics["chrf"].signature,
                  hypotheses=hypotheses)
    return Scored(record, statistics)


def parse_model(spec: str) -> tuple[str, str]:
    """'[LABEL=]SOURCE' -> (label, source); the label defaults to the shipped name or the run folder."""
    label, source = spec.split("=", 1) if "=" in spec else ("", spec)
    source = source[len(PRETRAINED):] if source.startswith(PRETRAINED) else source
    if source in available():
        return label or source, source
    if not Path(source).is_file():
        raise ScoringError(f"{source!r} is neither a shipped model ({', '.join(available())}) nor a checkpoint "
                           "file; give each model as [LABEL=]SOURCE, e.g. cho=runs/compare/cho/best.pt.")
    path = Path(source)
    return label or (path.parent.name if path.stem == "best" else path.stem), source


def load_translator(source: str, device: str = "cpu") -> Translator:
    """A shipped model by name, else the checkpoint at `source`."""
    if source in available():
        return Translator.from_pretrained(source, device=device)
    return Translator.from_checkpoint(source, device=device)


def score_models(models: list[str], pairs: list[tuple[str, str]], beams: tuple[int, ...] = (1, 5),
                 baseline: str | None = None, all_pairs: bool = False, n_resamples: int = sig.DEFAULT_RESAMPLES,
                 seed: int = 0, device: str = "cpu", batch_size: int = 256, test_set: str = "test_2016_flickr"
                 ) -> dict:
    """Score every model ([LABEL=]SOURCE) decoded with every beam size on `pairs` -> the report (JSON-ready).

    Rows compare with the baseline (default: the first model) decoded alike; with `all_pairs`,
    report["pairs"] holds every ordered pair of models. `test_set` names `pairs` in the report.
    """
    if isinstance(models, str) or not isinstance(models, (list, tuple)) or not models:
        raise ScoringError(f"models must be a non-empty list such as ['classic', 'attention'], got {models!r}.")
    if isinstance(beams, int) and not isinstance(beams, bool):
        beams = (beams,)
    check_pairs(pairs)
    specs = [parse_model(spec) for spec in models]
    labels = [label for label, _ in specs]
    if len(set(labels)) != len(labels):
        raise ScoringError(f"Two models share a label ({', '.join(labels)}); name them, e.g. mine=runs/x/best.pt.")
    baseline = labels[0] if baseline is None else baseline
    if baseline not in labels:
        raise ScoringError(f"The baseline {baseline!r} is not among the models ({', '.join(labels)}).")
    if not beams or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in beams):
        raise ScoringError(f"beams must be integers >= 1 (1: greedy), got {beams!r}.")
    began, counts = time.perf_counter(), sig.resample_counts(len(pairs), n_resamples, seed)
    scored: dict[tuple[str, int], Scored] = {}
    for label, source in specs:
        translator = load_translator(source, device)
        nll = teacher_forced_nll(translator, pairs, batch_size)
        for beam in beams:
            scored[label, beam] = score_translator(translator, pairs, beam, counts, batch_size=batch_size,
                                                   label=label, nll=nll)
            scored[label, beam].record["source"] = source

    def compare(a: str, b: str, beam: int) -> dict:
        return {name: sig.paired_bootstrap(scored[a, beam].statistics[name], scored[b, beam].statistics[name], counts)
                for name in PAIRED}

    for (label, beam), item in scored.items():
        item.record["p_vs_baseline"] = None if label == baseline else compare(label, baseline, beam)
    pairs_compared = [{"a": a, "b": b, "beam_size": beam, **compare(a, b, beam)}
                      for beam in beams for a in labels for b in labels if a != b] if all_pairs else []
    first = next(iter(scored.values())).record
    return {"split": test_set, "sentences": len(pairs), "baseline": baseline, "device": str(device),
            "bootstrap": {"resamples": n_resamples, "seed": seed, "confidence": sig.CONFIDENCE,
                          "interval": "percentile", "paired_test": "Koehn (2004): share of resamples not better"},
            "sacrebleu_signature": first["sacrebleu_signature"], "chrf_signature": first["chrf_signature"],
            "models": [item.record for item in scored.values()], "pairs": pairs_compared,
            "seconds": round(time.perf_counter() - began, 1)}


def _p(value: float, resamples: int) -> str:
    return f"< {1 / resamples:.3g}" if value == 0 else f"{value:.3f}"


def markdown_table(report: dict) -> str:
    """The report as Markdown: one row per model and decoding, then the pairs (if any) and the settings."""
    resamples, baseline = report["bootstrap"]["resamples"], report["baseline"]
    header = (["model", "decoding", "parameters", "vocabulary"] + [f"{NAMES[n]} [95% CI]" for n in NAMES]
              + [f"p vs {baseline} (token BLEU / sacreBLEU / chrF)"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report["models"]:
        cells = [row["label"], "greedy" if row["beam_size"] == 1 else f"beam {row['beam_size']}",
                 f"{row['parameters'] / 1e6:.2f}M", f"{row['vocabulary']} ({row['vocab_sizes'][0]:,} / "
                 f"{row['vocab_sizes'][1]:,})"]
        cells += [f"{row[n]['value']:.2f} [{row[n]['low']:.2f}, {row[n]['high']:.2f}]" for n in NAMES]
        p = row["p_vs_baseline"]
        cells.append("baseline" if p is None else " / ".join(_p(p[n], resamples) for n in PAIRED))
        lines.append("| " + " | ".join(cells) + " |")
    if report["pairs"]:
        lines += ["", "| model A | model B | decoding | p (A not better than B): token BLEU | sacreBLEU | chrF |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {p['a']} | {p['b']} | {'greedy' if p['beam_size'] == 1 else 'beam %d' % p['beam_size']} | "
                  + " | ".join(_p(p[n], resamples) for n in PAIRED) + " |" for p in report["pairs"]]
    lines += ["", f"{report['split']}, {report['sentences']:,} sentences; 95% percentile-bootstrap intervals and "
              f"paired bootstrap p-values from {resamples:,} resamples of the test sentences (seed "
              f"{report['bootstrap']['seed']}); p is the share of resamples in which the model does not beat the "
              f"baseline decoded alike. sacreBLEU `{report['sacrebleu_signature']}`, chrF "
              f"`{report['chrf_signature']}`. Perplexity is per target token of each model's own vocabulary."]
    return "\n".join(lines) + "\n"


__all__ = ["ScoringError", "Scored", "vocabulary_kind", "teacher_forced_nll", "score_translator", "parse_model", "load_translator", "score_models", "markdown_table", "PAIRED", "NAMES"]

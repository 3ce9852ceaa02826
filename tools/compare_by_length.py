"""A Markdown table of models side by side by German sentence length, on Multi30k's test set.

    SEQ2SEQ_DATA_DIR=/path/to/multi30k python tools/compare_by_length.py \
        classic=pretrained:classic attention=pretrained:attention cho=runs/compare/cho/best.pt

Each argument is LABEL=SOURCE, SOURCE a shipped model (`pretrained:NAME`) or a checkpoint file.
Per length group (`seq2seq_lib.by_length.LENGTH_GROUPS`) the table gives the teacher-forced loss
per target token and the greedy token BLEU of every model, on all 1,000 test sentences.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seq2seq_lib.by_length import scores_by_length  # noqa: E402
from seq2seq_lib.data import load_multi30k  # noqa: E402
from seq2seq_lib.translator import Translator  # noqa: E402

PRETRAINED = "pretrained:"


def load(source: str) -> Translator:
    if source.startswith(PRETRAINED):
        return Translator.from_pretrained(source[len(PRETRAINED):])
    if not Path(source).is_file():
        raise SystemExit(f"{source} is neither {PRETRAINED}NAME nor a checkpoint file.")
    return Translator.from_checkpoint(source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="LABEL=SOURCE")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    args = parser.parse_args()
    if any("=" not in spec for spec in args.models):
        raise SystemExit("Give each model as LABEL=SOURCE, e.g. classic=pretrained:classic.")
    pairs = load_multi30k(args.split)
    table = {}
    for spec in args.models:
        label, source = spec.split("=", 1)
        table[label] = scores_by_length(load(source), pairs)
    first = next(iter(table.values()))
    print("| German tokens | sentences | " + " | ".join(f"{label} loss" for label in table) + " | "
          + " | ".join(f"{label} BLEU" for label in table) + " |")
    print("|---" * (2 + 2 * len(table)) + "|")
    for g, group in enumerate(first):
        print(f"| {group.label} | {group.sentences} | "
              + " | ".join(f"{scores[g].loss_teacher_forced:.3f}" for scores in table.values()) + " | "
              + " | ".join(f"{scores[g].bleu_tokens:.2f}" for scores in table.values()) + " |")


if __name__ == "__main__":
    main()

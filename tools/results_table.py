"""Markdown rows for docs/results.md from training-run folders, so no figure is copied by hand.

Each folder is a `python -m seq2seq_lib train --out DIR` output (best.pt, history.json) with the
evaluations saved next to it by `python -m seq2seq_lib evaluate DIR/best.pt --beam K --json
DIR/test_beamK.json` for K = 1 and 5.

    python tools/results_table.py runs/classic runs/attention [--mean]
    python tools/results_table.py --curves runs/classic runs/attention   # validation loss per epoch

Losses and perplexities are labelled by how they were measured. Teacher-forced: the decoder is fed
the reference prefix, so the loss is the cross-entropy of the references and its exp is the
perplexity. Free-running: the model reads its own previous predictions, as when it translates (the
number published write-ups of these recipes report as "perplexity"). Runs saved before both were
kept have only the free-running validation loss, and evaluations written then only the free-running
test loss; the other columns show '-' for them.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seq2seq_lib.checkpoint import load_checkpoint  # noqa: E402
from seq2seq_lib.history import History  # noqa: E402
from seq2seq_lib.runs import BEST  # noqa: E402

VAL_TF, VAL_FR = "val loss (teacher-forced)", "val loss (free-running)"
TEST_LOSS_FR, TEST_PPL_FR = "test loss (free-running)", "test ppl (free-running)"
COLUMNS = ("run", "source", "lr (decay)", "batch", "precision", "seed", "best epoch", VAL_TF, VAL_FR,
           "test ppl (teacher-forced)", TEST_LOSS_FR, TEST_PPL_FR,
           "token BLEU greedy", "token BLEU beam 5", "sacreBLEU greedy", "sacreBLEU beam 5", "s / epoch")


LEGACY_KEYS = {"loss_free_running": "loss", "perplexity_free_running": "perplexity"}


def _evaluation(folder: Path, beam: int) -> dict:
    path = folder / f"test_beam{beam}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def row(folder: Path) -> list[str]:
    """One table row for a run folder; '-' where an evaluation is missing."""
    if not (folder / BEST).is_file():
        raise SystemExit(f"{folder} has no best.pt; pass folders written by `python -m seq2seq_lib train --out`.")
    checkpoint = load_checkpoint(folder / BEST)
    train, data = checkpoint["train_config"], checkpoint.get("data_config") or {}
    full_history = folder / "history.json"  # best.pt's own history stops at the best epoch
    history = History.from_dict(json.loads(full_history.read_text()) if full_history.is_file()
                                else checkpoint["history"])
    greedy, beam = _evaluation(folder, 1), _evaluation(folder, 5)
    decay = "" if train.get("lr_decay", 1.0) == 1.0 else f" (x{train['lr_decay']} after {train['lr_decay_after']})"

    def fmt(result: dict, key: str, digits: int = 2) -> str:
        key = key if key in result else LEGACY_KEYS.get(key, key)  # evaluations written before both were kept
        return f"{result[key]:.{digits}f}" if key in result else "-"

    return [folder.name, "reversed" if data.get("reverse_src") else "as written", f"{train['lr']:g}{decay}",
            str(data.get("batch_size", "-")), train["precision"], str(train["seed"]), str(checkpoint["epoch"]),
            _lowest(history.val_loss), _lowest(history.val_loss_free_running),
            fmt(greedy, "perplexity_teacher_forced"), fmt(greedy, "loss_free_running", 3),
            fmt(greedy, "perplexity_free_running"), fmt(greedy, "bleu_tokens"), fmt(beam, "bleu_tokens"),
            fmt(greedy, "bleu_sacrebleu"), fmt(beam, "bleu_sacrebleu"),
            f"{statistics.mean(history.epoch_seconds):.0f}"]


def _lowest(losses: list[float]) -> str:
    """The lowest measured loss, or '-' where none was measured (NaN: a run saved before it was kept)."""
    measured = [loss for loss in losses if math.isfinite(loss)]
    return f"{min(measured):.3f}" if measured else "-"


MEASURED = (VAL_TF, VAL_FR, "test ppl (teacher-forced)", TEST_LOSS_FR, TEST_PPL_FR,
            "token BLEU greedy", "token BLEU beam 5", "sacreBLEU greedy", "sacreBLEU beam 5", "s / epoch")


def mean_row(rows: list[list[str]]) -> list[str]:
    """The mean of each measured column over `rows` (skipping '-'), with the same number of decimals."""
    cells = []
    for index, column in enumerate(COLUMNS):
        values = [r[index] for r in rows if r[index] != "-"]
        if column == "run":
            cells.append(f"mean of {len(rows)}")
        elif column in MEASURED and values:
            digits = len(values[0].partition(".")[2])
            cells.append(f"**{statistics.mean(float(v) for v in values):.{digits}f}**")
        else:
            cells.append("")
    return cells


CURVE_HEADER = ("| run | validation loss teacher-forced, epoch 1 onwards | validation loss free-running, epoch 1 "
                "onwards |\n| --- | --- | --- |")


def curve_row(folder: Path) -> list[str]:
    """The run's validation losses per epoch, teacher-forced and free-running; in bold the epoch best.pt keeps.

    best.pt keeps the lowest teacher-forced loss; runs saved before it was measured kept the lowest
    free-running one, and their teacher-forced column is '-'.
    """
    path = folder / "history.json"
    if not path.is_file():
        raise SystemExit(f"{folder} has no history.json; `python -m seq2seq_lib train --out` writes it at the end.")
    history = History.from_dict(json.loads(path.read_text()))
    best = history.best_epoch - 1 if history.best_epoch else None
    selected_on_teacher_forced = any(math.isfinite(v) for v in history.val_loss)

    def cells(losses: list[float], bold: bool) -> str:
        if not any(math.isfinite(v) for v in losses):
            return "-"
        return ", ".join(f"**{v:.3f}**" if bold and i == best else f"{v:.3f}" for i, v in enumerate(losses))

    return [folder.name, cells(history.val_loss, selected_on_teacher_forced),
            cells(history.val_loss_free_running, not selected_on_teacher_forced)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="run folders (each with best.pt)")
    parser.add_argument("--mean", action="store_true", help="end with a row of the means of the measured columns")
    parser.add_argument("--curves", action="store_true",
                        help="print each run's validation loss per epoch instead of the results")
    args = parser.parse_args()
    if args.curves:
        print(CURVE_HEADER)
        for folder in args.folders:
            print("| " + " | ".join(curve_row(folder)) + " |")
        return 0
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS))
    rows = [row(folder) for folder in args.folders]
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    if args.mean:
        print("| " + " | ".join(mean_row(rows)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

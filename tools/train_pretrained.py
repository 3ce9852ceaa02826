"""Retrain the shipped pretrained models from scratch with the command line, and write their files.

    SEQ2SEQ_DATA_DIR=/path/to/multi30k python tools/train_pretrained.py            # train, export, evaluate
    python tools/train_pretrained.py --only attention --skip-training             # re-export a finished run

For each recipe below this runs `python -m seq2seq_lib train --profile full ... --out
runs/pretrained/NAME`, exports NAME/best.pt (or, for a recipe with "average_last": N, the average
of the weights of its last N epochs, `seq2seq_lib.averaging`) into seq2seq_lib/pretrained/NAME/ (fp16 safetensors,
JSON config and vocabularies, hashes in manifest.json; export on the machine that trained, since
the precision it records is the one `auto` picks there), then evaluates the exported files on
test_2016_flickr (greedy and beam 5) into runs/pretrained/NAME/test_beamK.json and prints the
rows of docs/results.md's table. Runs can go side by side: `--only NAME` picks one.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = ROOT / "runs" / "pretrained"
RECIPES = {  # the RNNs read the same vocabularies: words seen at least 3 times in the training set
    "attention": {
        "description": "Bahdanau attention, 1-layer bidirectional GRU encoder, emb 128, hidden 192",
        "args": ["--model", "attention", "--rnn", "gru", "--layers", "1", "--emb-dim", "128", "--hidden-dim",
                 "192", "--dropout", "0.3", "--min-freq", "3", "--epochs", "12", "--batch-size", "64"],
    },
    "classic": {
        "description": "classic 2-layer LSTM encoder-decoder reading the source reversed, emb 96, hidden 384",
        "args": ["--model", "classic", "--layers", "2", "--emb-dim", "96", "--hidden-dim", "384", "--dropout",
                 "0.5", "--min-freq", "3", "--reverse-src", "--epochs", "18", "--batch-size", "64"],
    },
    "transformer": {  # words seen at least twice; the warm-up schedule depends on the step, not on --epochs
        "description": "Transformer, 3+3 pre-norm layers, d_model 256, 8 heads, feed-forward 512, tied output; "
                       "the average of its last 5 epochs",
        "args": ["--model", "transformer", "--emb-dim", "256", "--hidden-dim", "512", "--layers", "3", "--heads",
                 "8", "--dropout", "0.1", "--label-smoothing", "0.1", "--warmup", "1000", "--lr", "1e-3",
                 "--epochs", "30", "--keep-epochs"],
        "average_last": 5,
    },
}


def train_command(name: str) -> list[str]:
    return ["python", "-m", "seq2seq_lib", "train", "--profile", "full", *RECIPES[name]["args"],
            "--out", f"runs/pretrained/{name}", "--overwrite"]


def hardware() -> str:
    """The GPU, or the CPU model and its core count, for the record."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores"


def train(name: str) -> float:
    """Run the recipe's train command; returns the wall-clock seconds."""
    began = time.perf_counter()
    subprocess.run([sys.executable, *train_command(name)[1:]], cwd=ROOT, check=True)
    return time.perf_counter() - began


def export(name: str) -> None:
    from seq2seq_lib.precision import resolve_precision
    from seq2seq_lib.pretrained import export_pretrained
    from seq2seq_lib.utils import get_device

    history = json.loads((RUNS / name / "history.json").read_text())
    settings = json.loads((RUNS / name / "run.json").read_text())
    training = {"command": " ".join(train_command(name)), "seed": settings["seed"],
                "train_seconds": round(sum(history["epoch_seconds"]), 1),
                "epochs_run": len(history["val_loss"]), "hardware": hardware(),
                "precision": resolve_precision(settings["precision"], get_device(verbose=False)),
                "torch": __import__("torch").__version__, "date": datetime.date.today().isoformat()}
    source = RUNS / name / "best.pt"
    if RECIPES[name].get("average_last"):
        from seq2seq_lib.averaging import epoch_name, save_average

        last = len(history["val_loss"])
        epochs = range(last - RECIPES[name]["average_last"] + 1, last + 1)
        source = save_average([RUNS / name / epoch_name(e) for e in epochs], RUNS / name / "average.pt")
        training["averaged_epochs"] = list(epochs)
    hashes = export_pretrained(source, name, RECIPES[name]["description"], training)
    print(f"{name}: exported", ", ".join(f"{file} {digest[:12]}" for file, digest in hashes.items()))


def evaluate(name: str) -> dict[int, dict]:
    from seq2seq_lib.evaluation import evaluate_pretrained
    from seq2seq_lib.files import write_json

    results = {}
    for beam in (1, 5):
        results[beam] = evaluate_pretrained(name, beam_size=beam)
        write_json(RUNS / name / f"test_beam{beam}.json", results[beam])
    return results


def table_row(name: str, results: dict[int, dict]) -> str:
    from seq2seq_lib.checkpoint import tied_entries
    from seq2seq_lib.pretrained import FOLDER, WEIGHTS, load_pretrained

    state = load_pretrained(name)["model_state"]
    tied = tied_entries(state)
    parameters = sum(t.numel() for key, t in state.items() if key not in tied)  # a tied matrix counts once
    greedy, beam = results[1], results[5]
    size = (FOLDER / name / WEIGHTS).stat().st_size / 1e6
    return (f"| {name} | {size:.1f} MB | {parameters / 1e6:.2f}M | {greedy['epochs_trained']} | "
            f"{greedy['perplexity_teacher_forced']:.2f} | {greedy['bleu_tokens']:.2f} | {beam['bleu_tokens']:.2f} | "
            f"{greedy['bleu_sacrebleu']:.2f} | {beam['bleu_sacrebleu']:.2f} | {greedy['chrf']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RECIPES), action="append", help="this recipe only (repeatable)")
    parser.add_argument("--skip-training", action="store_true", help="export and evaluate the finished runs")
    args = parser.parse_args()
    names = args.only or sorted(RECIPES)
    rows = []
    for name in names:
        if not args.skip_training:
            print(f"{name}: training ({' '.join(train_command(name))})", flush=True)
            train(name)
        export(name)
        rows.append(table_row(name, evaluate(name)))
    print("| model | weights | parameters | best epoch | test ppl (teacher-forced) | token BLEU greedy | "
          "token BLEU beam 5 | sacreBLEU greedy | sacreBLEU beam 5 | chrF greedy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

"""The command line with bad input: a clear `error: ...`, an exit status, and no run lost or half-written."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest
import torch

from seq2seq_lib import data, models, prepare, train
from seq2seq_lib import fast as engine
from seq2seq_lib.__main__ import cli, main
from seq2seq_lib.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parent.parent
TRAIN = ["train", "--sample", "--profile", "ci", "--precision", "fp32", "--device", "cpu"]
PYTHON_ADVICE = ("fit(", "replace(", "pass None", "root=", "load_sample", "map_location")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A one-epoch run on the sample: best.pt, last.pt, history.json, run.json (read-only; copy it)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(TRAIN + ["--epochs", "1", "--out", str(out)]) == 0
    return out


@pytest.fixture()
def run_copy(finished_run, tmp_path) -> Path:
    """A copy of the finished run that a test may change."""
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


@pytest.fixture()
def offline(monkeypatch, tmp_path) -> Path:
    """No network, an empty cache and no $SEQ2SEQ_DATA_DIR; returns an empty data folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    folder = tmp_path / "multi30k"
    folder.mkdir()
    return folder


def run_cli(argv: list, capsys) -> tuple[int, str]:
    """Exit status and stderr of `cli(argv)` as a shell would see them; stderr without the progress bars."""
    try:
        status = cli([str(arg) for arg in argv])
    except SystemExit as exit_info:  # argparse reports a malformed option itself
        status = exit_info.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, "\n".join(line for line in err.splitlines() if line.strip() and "it/s" not in line)


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())} if folder.exists() else {}


def interrupt_at_step(monkeypatch, step: int) -> None:
    """Ctrl-C during the `step`-th training step (1-based)."""
    real, calls = train.train_step, []

    def train_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "train_step", train_step)


def make_the_loss_nan(monkeypatch) -> None:
    """Both the textbook loss and the engine's return NaN."""
    for owner, name in ((models.Seq2Seq, "loss"), (engine, "loss")):
        def loss(*args, real=getattr(owner, name), **kwargs):
            value, tokens = real(*args, **kwargs)
            return value * float("nan"), tokens

        monkeypatch.setattr(owner, name, loss)


def refuse_to_load_data(monkeypatch) -> None:
    def prepare_data(*args, **kwargs):
        raise AssertionError("the data was loaded although the options could already be refused")

    monkeypatch.setattr(prepare, "prepare_data", prepare_data)


# ---------------------------------------------------------------- 1. clean messages


@pytest.mark.parametrize("mistake", ["missing data offline", "corrupt data", "failed download", "--out is a file",
                                     "--json is a folder", "--lr nan", "--lr inf", "Ctrl-C while loading"])
def test_every_mistake_ends_with_a_clean_error_message(mistake, finished_run, offline, tmp_path, monkeypatch,
                                                       capsys):
    multi30k = ["train", "--profile", "ci", "--device", "cpu", "--out", tmp_path / "new", "--data-dir", offline]
    if mistake == "corrupt data":
        for name in data.SHA256:
            (offline / name).write_bytes(b"not the published file")
    if mistake == "failed download":
        def not_found(url, *args, **kwargs):
            raise urllib.error.HTTPError(url, 404, "Not Found", hdrs=None, fp=None)

        monkeypatch.setattr(data.urllib.request, "urlopen", not_found)
    (tmp_path / "a-file").write_text("keep me")
    evaluations = []
    monkeypatch.setattr("seq2seq_lib.evaluation.evaluate_checkpoint", lambda *a, **k: evaluations.append(1))
    if mistake == "Ctrl-C while loading":
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(prepare, "prepare_data", interrupted)
    argv, status, expected = {
        "missing data offline": (multi30k, 2, "error: Could not download train.de.gz"),
        "corrupt data": (multi30k, 2, "train.de.gz is corrupt or not the published Multi30k file"),
        "failed download": (multi30k, 2, "HTTP Error 404"),
        "--out is a file": (TRAIN + ["--out", tmp_path / "a-file"], 2,
                            f"error: --out {tmp_path / 'a-file'}: {tmp_path / 'a-file'} is a file, not a folder"),
        "--json is a folder": (["evaluate", finished_run / "best.pt", "--json", tmp_path], 2,
                               f"error: --json {tmp_path} is a folder; name a file"),
        "--lr nan": (TRAIN + ["--out", tmp_path / "new", "--lr", "nan"], 2,
                     "error: argument --lr: must be a finite number, got 'nan'"),
        "--lr inf": (TRAIN + ["--out", tmp_path / "new", "--lr", "inf"], 2,
                     "error: argument --lr: must be a finite number, got 'inf'"),
        "Ctrl-C while loading": (TRAIN + ["--out", tmp_path / "new"], 130, "error: interrupted (Ctrl-C)."),
    }[mistake]
    code, err = run_cli(argv, capsys)
    assert code == status and expected in err and "Traceback" not in err
    assert not evaluations  # --json is checked before the evaluation runs
    assert (tmp_path / "a-file").read_text() == "keep me" and not (tmp_path / "new").exists()


# ---------------------------------------------------------------- 2. the installed command


def test_the_installed_command_reports_a_bad_value_exactly_like_python_dash_m(tmp_path):
    script = Path(sys.executable).with_name("seq2seq")
    if not script.is_file():
        pytest.skip(f"the seq2seq console script is not installed next to {sys.executable} (pip install -e .)")
    options = ["train", "--sample", "--out", str(tmp_path / "run"), "--batch-size", "0"]
    installed = subprocess.run([str(script), *options], capture_output=True, text=True, cwd=tmp_path)
    module = subprocess.run([sys.executable, "-m", "seq2seq_lib", *options], capture_output=True, text=True,
                            cwd=REPO)
    assert installed.returncode == module.returncode == 2
    assert installed.stderr == module.stderr
    assert installed.stderr.startswith("error: --batch-size must be an integer >= 1, got 0.")
    assert "Traceback" not in installed.stderr


# ---------------------------------------------------------------- 3. exit status


@pytest.mark.parametrize("what, status", [("bad input", 2), ("the loss became NaN", 1), ("Ctrl-C", 130)])
def test_exit_status_tells_bad_input_from_a_failed_run_and_an_interruption(what, status, tmp_path, monkeypatch,
                                                                            capsys):
    options = ["--epochs", "0"] if what == "bad input" else ["--epochs", "2"]
    if what == "the loss became NaN":
        make_the_loss_nan(monkeypatch)
    if what == "Ctrl-C":
        interrupt_at_step(monkeypatch, 2)
    code, err = run_cli(TRAIN + ["--out", tmp_path / "run", *options], capsys)
    assert code == status and err.startswith("error: ")
    if what == "Ctrl-C":  # fit saved what it could before the exit status said so
        assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 0


def test_ctrl_c_in_a_shell_saves_the_run_and_exits_130(tmp_path):
    out, log = tmp_path / "run", tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "seq2seq_lib", *TRAIN, "--epochs", "500", "--out", str(out)]
    with open(log, "w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        for line in process.stdout:
            if line.startswith("Epoch 01"):  # training is under way: interrupt it
                break
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        process.stdout.read()
        status = process.wait(timeout=120)
    err = log.read_text()
    assert status == 130, err[-3000:]  # on failure, show what the command said
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: interrupted after")
    done = load_checkpoint(out / "last.pt")["epoch"]
    assert done >= 1 and len(json.loads((out / "history.json").read_text())["val_loss"]) == done


@pytest.mark.parametrize("closed", ["before the first line", "after the first line"])
def test_a_reader_that_stops_reading_ends_the_command_quietly(closed):
    sentences = ["Ein Hund rennt."] * (1 if closed == "before the first line" else 4000)
    process = subprocess.Popen([sys.executable, "-m", "seq2seq_lib", "translate", "--pretrained", "attention"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    if closed == "after the first line":  # `... | head -1`: 4,000 lines overflow the pipe, so a write fails
        process.stdin.write("\n".join(sentences).encode())
        process.stdin.close()
        assert process.stdout.readline().strip()
        process.stdout.close()
    else:  # nothing read at all: the final flush is the write that fails
        process.stdout.close()
        process.stdin.write(sentences[0].encode())
        process.stdin.close()
    assert process.wait(timeout=300) == 141
    assert process.stderr.read().decode() == ""


# ---------------------------------------------------------------- 4. --overwrite keeps the old run until it must go


@pytest.mark.parametrize("failure", ["data offline", "seed", "fp16 on the CPU", "batch size"])
def test_overwrite_keeps_the_old_run_until_the_new_one_has_loaded_its_data(failure, run_copy, offline, capsys):
    before = files_of(run_copy)
    options = {"data offline": ["--data-dir", offline], "seed": ["--sample", "--seed", "-1"],
               "fp16 on the CPU": ["--sample", "--precision", "fp16"],
               "batch size": ["--sample", "--batch-size", "0"]}[failure]
    argv = ["train", "--profile", "ci", "--device", "cpu", "--out", run_copy, "--overwrite", *options]
    code, err = run_cli(argv, capsys)
    assert code == 2 and "error: " in err and "Traceback" not in err
    assert set(before) == {"best.pt", "last.pt", "history.json", "run.json"}
    assert files_of(run_copy) == before


# ---------------------------------------------------------------- 5. a failed --resume writes nothing


@pytest.mark.parametrize("folder", ["missing", "empty", "only a best.pt"])
def test_a_failed_resume_writes_nothing_and_loads_no_data(folder, finished_run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    if folder != "missing":
        out.mkdir()
    if folder == "only a best.pt":
        shutil.copy(finished_run / "best.pt", out / "best.pt")
    before = files_of(out)
    refuse_to_load_data(monkeypatch)
    code, err = run_cli(["train", "--out", out, "--resume", "--epochs", "3"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"error: --resume: {out} ") and "without --resume" in err
    assert files_of(out) == before and out.exists() == (folder != "missing")


# ---------------------------------------------------------------- 9. command-line fixes on the command line


@pytest.mark.parametrize("situation, fix", [
    ("a GPU this machine lacks", "use --device cpu"),
    ("a misspelt device", "use --device cpu"),
    ("fp16 on a CPU", "use --precision fp32"),
    ("Multi30k offline", "pass --data-dir FOLDER"),
    ("nothing left to resume", "pass a larger --epochs with --resume (e.g. --epochs 6)"),
    ("Ctrl-C during training", "Continue with: python -m seq2seq_lib train --out"),
    ("the loss became NaN", "a lower --lr (e.g. --lr 3e-4) or --precision fp32"),
])
def test_command_line_messages_name_the_command_line_fix(situation, fix, run_copy, offline, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    resume = ["train", "--out", run_copy, "--resume"]
    argv = {
        "a GPU this machine lacks": resume + ["--epochs", "2", "--device", "cuda"],
        "a misspelt device": ["evaluate", run_copy / "best.pt", "--device", "cdua"],
        "fp16 on a CPU": resume + ["--epochs", "2", "--device", "cpu", "--precision", "fp16"],
        "Multi30k offline": ["evaluate", run_copy / "best.pt", "--data-dir", offline],
        "nothing left to resume": resume + ["--device", "cpu"],
        "Ctrl-C during training": resume + ["--epochs", "2", "--device", "cpu"],
        "the loss became NaN": resume + ["--epochs", "2", "--device", "cpu"],
    }[situation]
    if situation == "Ctrl-C during training":
        interrupt_at_step(monkeypatch, 1)
    if situation == "the loss became NaN":
        make_the_loss_nan(monkeypatch)
    code, err = run_cli(argv, capsys)
    assert code in (1, 2, 130) and err.startswith("error: ") and fix in err
    assert not [advice for advice in PYTHON_ADVICE if advice in err], err


REFUSED_SETTINGS = [
    (["--epochs", "0"], "--epochs must be an integer >= 1, got 0."),
    (["--lr-decay", "2"], "--lr-decay must be in (0, 1], got 2.0"),
    (["--lr-decay-after", "-1"], "--lr-decay-after must be an integer >= 0 (epochs at the full rate)"),
    (["--teacher-forcing", "1.5"], "--teacher-forcing must be in [0, 1], got 1.5."),
    (["--dropout", "1"], "--dropout must be in [0, 1), got 1.0"),
    (["--label-smoothing", "1"], "--label-smoothing must be in [0, 1), got 1.0"),
    (["--warmup", "-1"], "--warmup must be an integer >= 0, got -1"),
    (["--model", "transformer", "--emb-dim", "64", "--heads", "3"],
     "--emb-dim (64) must be divisible by --heads (3): each head reads --emb-dim // --heads features; "
     "e.g. --emb-dim 256 with --heads 8."),
]


@pytest.mark.parametrize("options, message", REFUSED_SETTINGS, ids=[" ".join(o) for o, _ in REFUSED_SETTINGS])
def test_a_refused_setting_is_named_by_its_option(options, message, tmp_path, monkeypatch, capsys):
    refuse_to_load_data(monkeypatch)
    code, err = run_cli(TRAIN + ["--out", tmp_path / "run", *options], capsys)
    assert code == 2 and err.startswith(f"error: {message}")
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", err), f"a Python field name reached the command line: {err}"
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- 10. history.json and atomic JSON


@pytest.mark.parametrize("stop, status", [("Ctrl-C", 130), ("the loss became NaN", 1)])
def test_history_json_is_written_when_training_is_interrupted(stop, status, run_copy, monkeypatch, capsys):
    (run_copy / "history.json").unlink()
    if stop == "Ctrl-C":
        interrupt_at_step(monkeypatch, 8)  # an epoch on the sample has 5 batches: this is in epoch 3
    else:
        real, calls = engine.loss, []

        def loss(model, *args, **kwargs):  # NaN from the 8th training batch on
            calls.append(model.training)
            value, tokens = real(model, *args, **kwargs)
            return (value * float("nan") if sum(calls) >= 8 else value), tokens

        monkeypatch.setattr(engine, "loss", loss)
    code, err = run_cli(["train", "--out", run_copy, "--resume", "--epochs", "4", "--device", "cpu"], capsys)
    assert code == status and err.startswith("error: ")
    assert load_checkpoint(run_copy / "last.pt")["epoch"] == 2
    assert len(json.loads((run_copy / "history.json").read_text())["val_loss"]) == 2


def test_an_interrupted_json_write_keeps_the_previous_file(run_copy, monkeypatch, capsys):
    from seq2seq_lib import files

    before = files_of(run_copy)

    def interrupted_fsync(descriptor):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted_fsync)  # the first write is run.json's
    code, err = run_cli(["train", "--out", run_copy, "--resume", "--epochs", "2", "--device", "cpu"], capsys)
    assert code == 130 and err == "error: interrupted (Ctrl-C)."
    assert files_of(run_copy) == before  # run.json whole and unchanged, no temp file left

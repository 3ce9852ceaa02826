"""The command line: `python -m seq2seq_lib train` and `evaluate`, end to end on small data."""
import io
import json
import math
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq_lib.__main__ import build_parser, main
from seq2seq_lib.checkpoint import load_checkpoint
from seq2seq_lib.precision import resolve_precision
from seq2seq_lib.translator import Translator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import results_table  # noqa: E402


def test_help_names_every_train_option():
    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for option in ("--profile", "--model", "--epochs", "--out", "--resume", "--lr-decay", "--lr-decay-after",
                   "--reverse-src", "--batch-size", "--emb-dim", "--hidden-dim", "--layers", "--rnn", "--dropout",
                   "--min-freq"):
        assert option in text


def test_train_on_the_sample_writes_checkpoints_history_and_the_chosen_schedule(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--sample", "--profile", "ci", "--epochs", "2", "--out", str(out), "--precision", "fp32",
            "--lr", "2e-3", "--lr-decay", "0.5", "--lr-decay-after", "1", "--reverse-src", "--batch-size", "8"]
    assert main(args) == 0
    history = json.loads((out / "history.json").read_text())
    assert len(history["val_loss"]) == 2
    last = load_checkpoint(out / "last.pt")
    assert last["train_config"]["lr_decay"] == 0.5 and last["train_config"]["lr_decay_after"] == 1
    assert last["optimizer_state"]["param_groups"][0]["lr"] == pytest.approx(1e-3)  # epoch 2 ran at half
    assert last["data_config"]["reverse_src"] is True and last["data_config"]["batch_size"] == 8
    assert re.search(r"best epoch [12]: validation loss \d\.\d{3} \(teacher-forced\)", capsys.readouterr().out)
    with pytest.raises(ValueError, match="already finished 2 epoch"):
        main(args + ["--resume"])


def test_size_options_shape_the_model_and_are_kept_for_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out), "--precision", "fp32",
                 "--model", "attention", "--rnn", "gru", "--layers", "1", "--emb-dim", "16", "--hidden-dim", "24",
                 "--dropout", "0.1", "--min-freq", "3"]) == 0
    checkpoint = load_checkpoint(out / "best.pt")
    assert checkpoint["model_config"] == {"emb_dim": 16, "hidden_dim": 24, "n_layers": 1, "dropout": 0.1,
                                          "rnn_type": "gru", "attention": True, "feed_context": False,
                                          "transformer": False, "n_heads": 8, "pre_norm": True,
                                          "tie_embeddings": True, "max_positions": 256}
    assert checkpoint["data_config"]["min_freq"] == 3
    assert "emb=16 hidden=24 layers=1, 1 epoch(s)" in capsys.readouterr().out
    settings = json.loads((out / "run.json").read_text())
    assert (settings["rnn"], settings["layers"], settings["min_freq"]) == ("gru", 1, 3)
    with pytest.raises(ValueError, match="was trained with hidden_dim=24, not 32"):
        main(["train", "--out", str(out), "--resume", "--epochs", "2", "--hidden-dim", "32"])
    with pytest.raises(ValueError, match="--model gru is the classic model with GRUs"):
        main(["train", "--sample", "--out", str(tmp_path / "other"), "--model", "gru", "--rnn", "lstm"])


def test_the_cho_model_is_one_gru_layer_fed_the_context_unless_told_otherwise(tmp_path):
    common = ["train", "--sample", "--profile", "ci", "--epochs", "1", "--precision", "fp32", "--model", "cho"]
    assert main(common + ["--out", str(tmp_path / "cho")]) == 0
    config = load_checkpoint(tmp_path / "cho" / "best.pt")["model_config"]
    assert (config["feed_context"], config["rnn_type"], config["n_layers"], config["attention"]) == (True, "gru", 1,
                                                                                                     False)
    assert main(common + ["--out", str(tmp_path / "cho-lstm"), "--rnn", "lstm", "--layers", "2"]) == 0
    config = load_checkpoint(tmp_path / "cho-lstm" / "best.pt")["model_config"]
    assert (config["feed_context"], config["rnn_type"], config["n_layers"]) == (True, "lstm", 2)


def test_resume_needs_only_the_folder_and_refuses_a_changed_setting(tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = ["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out), "--precision", "fp32",
             "--batch-size", "16", "--reverse-src", "--seed", "7"]
    assert main(first) == 0
    with pytest.raises(ValueError, match="already holds a run.*--resume.*--overwrite"):
        main(first)
    with pytest.raises(ValueError, match="trained with batch_size=16, not 32"):
        main(["train", "--out", str(out), "--resume", "--epochs", "2", "--batch-size", "32"])
    monkeypatch.setenv("SEQ2SEQ_PROFILE", "full")  # the saved profile (ci) must win over the environment
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 0
    last = load_checkpoint(out / "last.pt")
    assert last["epoch"] == 2 and last["train_config"]["seed"] == 7
    assert last["data_config"]["batch_size"] == 16 and last["data_config"]["reverse_src"] is True
    assert json.loads((out / "run.json").read_text())["epochs"] == 2
    with pytest.raises(ValueError, match="lr must be a positive number"):
        main(first + ["--overwrite", "--lr", "-1"])
    assert load_checkpoint(out / "last.pt")["epoch"] == 2  # a refused --overwrite deletes nothing
    assert main(first + ["--overwrite"]) == 0
    assert load_checkpoint(out / "last.pt")["epoch"] == 1


@pytest.mark.multi30k
def test_evaluate_reports_loss_perplexity_and_bleu_as_json(tmp_path, multi30k_dir, capsys):
    out = tmp_path / "run"
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out),
                 "--precision", "fp32"]) == 0
    report = out / "test_beam1.json"
    assert main(["evaluate", str(out / "best.pt"), "--split", "val", "--data-dir", str(multi30k_dir),
                 "--precision", "auto", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["split"] == "val" and results["sentences"] == 1014
    assert results["decode_precision"] == resolve_precision("auto", "cpu")  # bf16 only where it runs
    for kind in ("teacher_forced", "free_running"):
        assert results[f"perplexity_{kind}"] == pytest.approx(math.exp(results[f"loss_{kind}"]), rel=1e-5)
    assert 0.0 <= results["bleu_tokens"] <= 100.0 and "nrefs:1" in results["sacrebleu_signature"]
    assert 0.0 < results["chrf"] <= 100.0 and results["chrf_signature"].startswith("nrefs:1")
    assert "perplexity_teacher_forced" in capsys.readouterr().out
    table_row = dict(zip(results_table.COLUMNS, results_table.row(out)))
    assert table_row["test ppl (free-running)"] == f"{results['perplexity_free_running']:.2f}"
    assert table_row["test ppl (teacher-forced)"] == f"{results['perplexity_teacher_forced']:.2f}"
    assert table_row["token BLEU beam 5"] == "-"
    assert table_row["source"] == "as written" and table_row["best epoch"] == "1"


def test_evaluate_rejects_a_beam_below_one(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(tmp_path / "none.pt"), "--beam", "0"])
    assert exit_info.value.code == 2
    assert "argument --beam: must be at least 1, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize("option, message", [(["--batch-size", "0"], "--batch-size must be an integer >= 1"),
                                             (["--lr", "-1"], "--lr must be a positive number")])
def test_a_bad_value_from_the_shell_ends_with_its_message_not_a_traceback(tmp_path, option, message):
    command = [sys.executable, "-m", "seq2seq_lib", "train", "--sample", "--out", str(tmp_path / "run"), *option]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert finished.returncode == 2
    assert finished.stderr.startswith(f"error: {message}") and "Traceback" not in finished.stderr


def test_translate_with_a_pretrained_model_prints_one_line_per_sentence(capsys):
    assert main(["translate", "--pretrained", "attention", "--device", "cpu", "Ein Hund rennt.",
                 "Zwei Männer sitzen auf einer Bank."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "dog" in lines[0] and "men" in lines[1]


def test_translate_reads_standard_input_and_a_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out), "--precision",
                 "fp32"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO("Ein Hund.\n\nEine Frau.\n"))
    assert main(["translate", "--checkpoint", str(out / "best.pt"), "--beam", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # the blank line is skipped


@pytest.mark.parametrize("argv, message", [
    (["translate", "Ein Hund."], "translate needs a model: pass --checkpoint PATH"),
    (["evaluate"], "evaluate needs a model: pass CHECKPOINT"),
    (["translate", "--pretrained", "mamba", "Ein Hund."],
     "--pretrained mamba: no such model; choose one of: attention, classic, transformer"),
    (["evaluate", "--pretrained", "big"], "choose one of: attention, classic"),
])
def test_a_missing_or_unknown_model_names_the_choices(argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        main(argv)


def test_a_checkpoint_and_a_pretrained_model_together_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(tmp_path / "best.pt"), "--pretrained", "attention"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.multi30k
def test_evaluate_a_pretrained_model_matches_evaluating_its_files_directly(tmp_path, multi30k_dir, capsys):
    from seq2seq_lib.evaluation import evaluate_pretrained

    report = tmp_path / "classic.json"
    assert main(["evaluate", "--pretrained", "classic", "--split", "val", "--data-dir", str(multi30k_dir),
                 "--no-bleu", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["pretrained"] == "classic" and results["sentences"] == 1014
    direct = evaluate_pretrained("classic", split="val", bleu=False, root=multi30k_dir)
    assert results == direct


def test_transformer_trains_from_the_command_line_with_its_schedule(tmp_path):
    out = tmp_path / "transformer"
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out), "--precision", "fp32",
                 "--model", "transformer", "--emb-dim", "32", "--hidden-dim", "64", "--layers", "1", "--heads", "4",
                 "--label-smoothing", "0.1", "--warmup", "20"]) == 0
    checkpoint = load_checkpoint(out / "best.pt")
    assert checkpoint["model_config"]["transformer"] and checkpoint["model_config"]["n_heads"] == 4
    assert checkpoint["train_config"]["teacher_forcing_ratio"] == 1.0
    assert checkpoint["train_config"]["label_smoothing"] == 0.1 and checkpoint["train_config"]["warmup_steps"] == 20
    assert main(["translate", "--checkpoint", str(out / "best.pt"), "Ein Hund läuft."]) == 0
    with pytest.raises(ValueError, match="--model transformer"):
        main(["train", "--sample", "--out", str(tmp_path / "x"), "--heads", "4"])  # heads without a Transformer


def test_translate_answers_each_line_typed_at_a_terminal_before_the_next(tmp_path):
    import pty
    import select

    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "seq2seq_lib", "translate", "--pretrained", "attention"],
                               stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=Path(__file__).resolve().parent.parent)
    os.close(terminal)
    answers = []
    try:
        for sentence in ("Ein Hund rennt.", "Zwei Männer spielen Fußball."):
            os.write(controller, f"{sentence}\n".encode())
            ready, _, _ = select.select([process.stdout], [], [], 60)  # answered while the input is still open
            assert ready, "no translation before the next line was typed"
            answers.append(process.stdout.readline().decode().strip())
        os.write(controller, b"\x04")  # Ctrl-D
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        os.close(controller)
    assert answers == Translator.from_pretrained("attention").translate(["Ein Hund rennt.",
                                                                         "Zwei Männer spielen Fußball."])
    assert "Ctrl-D ends" in process.stderr.read().decode()


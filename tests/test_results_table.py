"""tools/results_table.py: the mean row under a table of runs."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import results_table  # noqa: E402


def _row(**cells: str) -> list[str]:
    return [cells.get(column, "-") for column in results_table.COLUMNS]


def test_the_mean_row_averages_measured_columns_and_skips_missing_values():
    rows = [_row(run="a", **{"test ppl (free-running)": "40.00", "token BLEU beam 5": "-", "s / epoch": "120"}),
            _row(run="b", **{"test ppl (free-running)": "45.00", "token BLEU beam 5": "16.50", "s / epoch": "140"})]
    mean = dict(zip(results_table.COLUMNS, results_table.mean_row(rows)))
    assert mean["run"] == "mean of 2"
    assert mean["test ppl (free-running)"] == "**42.50**" and mean["s / epoch"] == "**130**"
    assert mean["token BLEU beam 5"] == "**16.50**"  # the one run that has it
    assert mean["seed"] == "" and mean["test ppl (teacher-forced)"] == ""  # no run measured it


def test_every_loss_and_perplexity_header_says_how_it_was_measured():
    for column in results_table.COLUMNS:
        if "loss" in column or "ppl" in column:
            assert column.endswith(("(teacher-forced)", "(free-running)")), column


def test_a_folder_without_a_checkpoint_is_refused_with_the_fix(tmp_path):
    with pytest.raises(SystemExit, match="has no best.pt.*seq2seq_lib train --out"):
        results_table.row(tmp_path)


def test_the_curve_row_lists_every_epoch_and_marks_the_one_best_pt_keeps(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps({"val_loss": [4.0, 3.5, 3.75],
                                                        "val_loss_free_running": [5.0, 4.25, 4.5]}))
    assert results_table.curve_row(tmp_path) == [tmp_path.name, "4.000, **3.500**, 3.750", "5.000, 4.250, 4.500"]
    # a run saved before both were kept: its one validation loss was free-running, and best.pt was chosen on it
    (tmp_path / "history.json").write_text(json.dumps({"val_loss": [5.0, 4.25, 4.5]}))
    assert results_table.curve_row(tmp_path) == [tmp_path.name, "-", "5.000, **4.250**, 4.500"]
    with pytest.raises(SystemExit, match="has no history.json"):
        results_table.curve_row(tmp_path / "missing")

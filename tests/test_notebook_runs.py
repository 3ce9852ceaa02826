"""The notebooks' runs folder: full-profile models are handed along the series, ci models stay each notebook's own."""
from __future__ import annotations

from dataclasses import replace

import pytest

from seq2seq_lib import notebook_runs, train
from seq2seq_lib.config import get_profile
from seq2seq_lib.notebook_runs import fresh_run_folder, load_or_train, run_folder, series_root
from seq2seq_lib.translator import Translator

PROFILE = get_profile("ci")
SMALL = replace(PROFILE.model, emb_dim=8, hidden_dim=16, n_layers=1)
ONE_EPOCH = replace(PROFILE.train, epochs=1, precision="fp32")


def get_model(profile_name, sample_data, runs, notebook="08", name="classic"):
    return load_or_train(name, SMALL, sample_data, profile_name=profile_name, train_config=ONE_EPOCH, device="cpu",
                         runs=runs, notebook=notebook)


def forbid_training(monkeypatch):
    def fit(*args, **kwargs):
        raise AssertionError("trained although an earlier notebook's model was there to load")

    monkeypatch.setattr(train, "fit", fit)


def test_from_notebooks_the_root_is_the_repository_and_elsewhere_the_working_folder(tmp_path):
    assert series_root(tmp_path / "notebooks") == tmp_path
    assert series_root(tmp_path / "content") == tmp_path / "content"


def test_a_full_profile_model_written_by_one_notebook_is_loaded_by_the_next(sample_data, tmp_path, monkeypatch,
                                                                             capsys):
    first = get_model("full", sample_data, tmp_path, notebook="07")
    assert (tmp_path / "classic" / "best.pt").is_file() and "Training the classic model" in capsys.readouterr().out
    forbid_training(monkeypatch)
    second = get_model("full", sample_data, tmp_path, notebook="08")
    assert isinstance(second, Translator) and f"Loading {tmp_path / 'classic' / 'best.pt'}" in capsys.readouterr().out
    assert second.translate("zwei hunde") == first.translate("zwei hunde")


def test_in_the_ci_profile_each_notebook_trains_its_own_model(sample_data, tmp_path, monkeypatch):
    (tmp_path / "classic").mkdir()
    (tmp_path / "classic" / "best.pt").write_bytes(b"a full-profile run, not for the ci profile")
    trained = []
    real_fit = train.fit
    monkeypatch.setattr(train, "fit", lambda *args, **kwargs: trained.append(kwargs["out_dir"]) or
                        real_fit(*args, **kwargs))
    assert isinstance(get_model("ci", sample_data, tmp_path, notebook="09"), Translator)
    assert trained == [tmp_path / "ci" / "09-classic"] and (tmp_path / "ci" / "09-classic" / "best.pt").is_file()


def test_the_same_seed_gives_the_same_model_every_run(sample_data, tmp_path):
    one = get_model("ci", sample_data, tmp_path / "a").model.state_dict()
    two = get_model("ci", sample_data, tmp_path / "b").model.state_dict()
    assert all(one[key].equal(two[key]) for key in one)  # same seed, same kernels: exact


@pytest.mark.parametrize("arguments, match", [
    (("runs", "../classic", "full", "08"), "folder name"),
    (("runs", "classic", "fast", "08"), "profile_name must be one of"),
    (("runs", "classic", "ci", 8), "notebook must be the notebook's number as text"),
])
def test_bad_arguments_name_the_problem(arguments, match):
    with pytest.raises(ValueError, match=match):
        run_folder(*arguments)



def test_a_fresh_full_run_keeps_the_previous_one_beside_it(tmp_path, capsys):
    old = tmp_path / "classic"
    old.mkdir()
    (old / "best.pt").write_bytes(b"hours of training")
    folder = fresh_run_folder(tmp_path, "classic", "full", "07")
    assert folder == old and not folder.exists()
    [kept] = [path for path in tmp_path.iterdir() if path.name.startswith("classic-before-")]
    assert (kept / "best.pt").read_bytes() == b"hours of training" and str(kept) in capsys.readouterr().out


def test_a_fresh_ci_run_replaces_the_notebooks_own_small_run(tmp_path):
    old = tmp_path / "ci" / "07-classic"
    old.mkdir(parents=True)
    (old / "best.pt").write_bytes(b"seconds of training")
    assert fresh_run_folder(tmp_path, "classic", "ci", "07") == old and not old.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["ci"]


def test_a_file_where_the_run_folder_belongs_is_refused(tmp_path):
    (tmp_path / "classic").write_text("not a run")
    with pytest.raises(NotADirectoryError, match="is a file; move it away"):
        fresh_run_folder(tmp_path, "classic", "full", "07")
    assert (tmp_path / "classic").read_text() == "not a run"


def test_a_full_run_interrupted_before_its_best_is_moved_aside_not_overwritten(sample_data, tmp_path):
    interrupted = tmp_path / "classic"
    interrupted.mkdir()
    (interrupted / "last.pt").write_bytes(b"an interrupted first epoch")
    get_model("full", sample_data, tmp_path, notebook="08")
    [kept] = [path for path in tmp_path.iterdir() if path.name.startswith("classic-before-")]
    assert (kept / "last.pt").read_bytes() == b"an interrupted first epoch"
    assert (interrupted / "best.pt").is_file()


def test_two_runs_set_aside_in_the_same_second_are_both_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook_runs.time, "strftime", lambda *args: "2026-01-01T00-00-00")
    for content in (b"first", b"second"):
        (tmp_path / "classic").mkdir()
        (tmp_path / "classic" / "best.pt").write_bytes(content)
        fresh_run_folder(tmp_path, "classic", "full", "07")
    kept = {path.name: (path / "best.pt").read_bytes() for path in tmp_path.iterdir()}
    assert kept == {"classic-before-2026-01-01T00-00-00": b"first", "classic-before-2026-01-01T00-00-00-2": b"second"}


@pytest.mark.parametrize("change, error, match", [
    ({"device": "gpu"}, ValueError, "Unknown device 'gpu'"),
    ({"train_config": None}, TypeError, "must be a ModelConfig and a TrainConfig"),
    ({"data": [("Ein Hund.", "A dog.")]}, TypeError, "data must be what prepare_data returns"),
], ids=["device", "train_config", "data"])
def test_a_bad_argument_is_refused_before_an_earlier_run_is_moved(change, error, match, sample_data, tmp_path):
    (tmp_path / "classic").mkdir()
    (tmp_path / "classic" / "last.pt").write_bytes(b"an earlier run")
    arguments = dict(data=sample_data, profile_name="full", train_config=ONE_EPOCH, device="cpu", runs=tmp_path,
                     notebook="08")
    with pytest.raises(error, match=match):
        load_or_train("classic", SMALL, **{**arguments, **change})
    assert [path.name for path in tmp_path.iterdir()] == ["classic"]

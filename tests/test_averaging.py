"""Checkpoint averaging: the mean of one run's epochs, refused across runs, written by fit and the command line."""
import pytest
import torch

from seq2seq_lib.__main__ import main
from seq2seq_lib.averaging import average_checkpoints, epoch_name, save_average
from seq2seq_lib.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model

CONFIG = ModelConfig(transformer=True, emb_dim=16, hidden_dim=32, n_layers=1, n_heads=2, dropout=0.0)


def saved(tmp_path, sample_data, seed: int, name: str, config: ModelConfig = CONFIG):
    torch.manual_seed(seed)
    model = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    return model, save_checkpoint(tmp_path / name, model=model, spec=sample_data.spec(config), epoch=seed)


def test_the_average_is_the_mean_of_the_weights_and_keeps_the_tie(tmp_path, sample_data):
    runs = [saved(tmp_path, sample_data, seed, f"e{seed}.pt") for seed in (1, 2, 3)]
    averaged = average_checkpoints([path for _, path in runs])
    assert averaged["extra"]["averaged"] == [1, 2, 3] and averaged["optimizer_state"] is None
    for key, tensor in averaged["model_state"].items():
        expected = sum(model.state_dict()[key] for model, _ in runs) / 3
        torch.testing.assert_close(tensor, expected, rtol=1e-6, atol=1e-7)
    model = model_from_checkpoint(averaged)
    assert model.decoder.fc_out.weight is model.decoder.embedding.weight
    torch.testing.assert_close(model.decoder.fc_out.weight, averaged["model_state"]["decoder.fc_out.weight"],
                               rtol=0, atol=0)


def test_checkpoints_of_different_models_are_refused(tmp_path, sample_data):
    _, first = saved(tmp_path, sample_data, 1, "a.pt")
    _, other = saved(tmp_path, sample_data, 2, "b.pt", ModelConfig(transformer=True, emb_dim=16, hidden_dim=64,
                                                                   n_layers=1, n_heads=2, dropout=0.0))
    with pytest.raises(CheckpointError, match="not the same model.*model_config"):
        average_checkpoints([first, other])
    with pytest.raises(ValueError, match="non-empty list"):
        average_checkpoints([])
    with pytest.raises(ValueError, match="new file"):
        save_average([first], first)
    assert epoch_name(12) == "epoch_12.pt"


def test_train_keeps_epochs_and_the_command_line_averages_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "2", "--out", str(out), "--precision", "fp32",
                 "--model", "transformer", "--emb-dim", "16", "--hidden-dim", "32", "--layers", "1", "--heads", "2",
                 "--keep-epochs"]) == 0
    kept = sorted(out.glob("epoch_*.pt"))
    assert [path.name for path in kept] == ["epoch_01.pt", "epoch_02.pt"]
    assert main(["average", *map(str, kept), "--out", str(out / "average.pt")]) == 0
    assert load_checkpoint(out / "average.pt")["extra"]["averaged"] == [1, 2]
    assert main(["translate", "--checkpoint", str(out / "average.pt"), "Ein Hund läuft."]) == 0
    with pytest.raises(ValueError, match="one of the checkpoints"):
        main(["average", *map(str, kept), "--out", str(kept[0])])
    with pytest.raises(ValueError, match="not a checkpoint file"):
        main(["average", str(out / "missing.pt"), "--out", str(out / "x.pt")])

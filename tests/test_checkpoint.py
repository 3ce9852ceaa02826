"""Checkpoints: round trip, atomic writes, and a clear error for every kind of bad file."""
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from seq2seq_lib import checkpoint as ckpt
from seq2seq_lib.checkpoint import (CheckpointError, ModelSpec, check_compatible, load_checkpoint,
                                    model_from_checkpoint,
                                    rng_state, save_checkpoint, set_rng_state, vocabs_from_checkpoint)
from seq2seq_lib.config import DataConfig, ModelConfig, TrainConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.utils import DeviceError
from seq2seq_lib.vocab import Vocab

CONFIG = ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0)
SRC_VOCAB = Vocab.build([["ein", "hund", "läuft"], ["eine", "katze"]], min_freq=1)
TRG_VOCAB = Vocab.build([["a", "dog", "runs"], ["a", "cat", "sleeps"]], min_freq=1)
SPEC = ModelSpec(CONFIG, SRC_VOCAB, TRG_VOCAB, DataConfig())


def trained_parts():
    torch.manual_seed(0)
    model = build_model(CONFIG, len(SRC_VOCAB), len(TRG_VOCAB))
    optimizer = torch.optim.Adam(model.parameters())
    src, trg = torch.full((4, 2), 5), torch.full((3, 2), 4)
    model.loss(src, trg, 1.0)[0].backward()
    optimizer.step()
    return model, optimizer, (src, trg)


def save(path, model, optimizer, **extra):
    return save_checkpoint(path, model=model, spec=SPEC, train_config=TrainConfig(epochs=3),
                           optimizer=optimizer, epoch=2, history={"train_loss": [3.0, 2.0], "val_loss": [3.1, 2.5]},
                           **extra)


def test_round_trip_restores_model_configs_vocabs_and_optimizer(tmp_path):
    model, optimizer, (src, trg) = trained_parts()
    path = save(tmp_path / "run" / "last.pt", model, optimizer)
    checkpoint = load_checkpoint(path)
    assert checkpoint["epoch"] == 2 and checkpoint["best_val_loss"] == 2.5
    assert checkpoint["model_config"] == {**vars(CONFIG)} and checkpoint["train_config"]["epochs"] == 3
    assert checkpoint["history"] == {"train_loss": [3.0, 2.0], "val_loss": [3.1, 2.5]}
    rebuilt = model_from_checkpoint(checkpoint).eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(src, trg, 1.0), model.eval()(src, trg, 1.0))
    src_vocab, trg_vocab = vocabs_from_checkpoint(checkpoint)
    assert src_vocab.itos == SRC_VOCAB.itos and trg_vocab.itos == TRG_VOCAB.itos
    fresh = torch.optim.Adam(rebuilt.parameters())
    fresh.load_state_dict(checkpoint["optimizer_state"])
    assert fresh.state_dict()["state"][0]["step"] == 1


def test_rng_state_round_trip():
    state = rng_state()
    draws = (random.random(), np.random.rand(), torch.rand(3))
    set_rng_state(state)
    assert (random.random(), np.random.rand()) == draws[:2] and torch.equal(torch.rand(3), draws[2])


def test_save_is_atomic_and_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    model, optimizer, _ = trained_parts()
    path = save(tmp_path / "best.pt", model, optimizer)
    before = path.read_bytes()

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save(path, model, optimizer)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]  # no temp file left behind


def test_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at .*train first"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file_is_reported_as_corrupt(tmp_path):
    model, optimizer, _ = trained_parts()
    path = save(tmp_path / "last.pt", model, optimizer)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt, truncated"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", bytes(range(256)) * 10])
def test_garbage_file_is_reported_as_corrupt(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt, truncated or not a PyTorch file"):
        load_checkpoint(path)


def test_bare_state_dict_is_not_a_checkpoint(tmp_path):
    model, _, _ = trained_parts()
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    with pytest.raises(CheckpointError, match="not a seq2seq_lib.checkpoint/1 checkpoint.*load_state_dict"):
        load_checkpoint(path)


def test_mismatched_vocab_or_config_names_the_problem_and_the_fix(tmp_path):
    model, optimizer, _ = trained_parts()
    checkpoint = load_checkpoint(save(tmp_path / "best.pt", model, optimizer))
    check_compatible(checkpoint, SPEC)
    bigger = Vocab(TRG_VOCAB.itos + ["extra"])
    mismatch = rf"trg vocabulary has {len(bigger)} entries here but {len(TRG_VOCAB)} .*Fix"
    with pytest.raises(CheckpointError, match=mismatch):
        check_compatible(checkpoint, replace(SPEC, trg_vocab=bigger))
    with pytest.raises(CheckpointError, match="model_config.hidden_dim is 512 here but 16"):
        check_compatible(checkpoint, replace(SPEC, model_config=replace(CONFIG, hidden_dim=512)))
    with pytest.raises(CheckpointError, match="data_config.batch_size is 64 here but 128"):
        check_compatible(checkpoint, replace(SPEC, data_config=replace(DataConfig(), batch_size=64)))
    shuffled = Vocab(SRC_VOCAB.itos[:4] + SRC_VOCAB.itos[4:][::-1])
    with pytest.raises(CheckpointError, match="same size but different tokens"):
        check_compatible(checkpoint, replace(SPEC, src_vocab=shuffled))


def test_checkpoint_without_vocabularies_cannot_rebuild_a_model(tmp_path):
    model, _, _ = trained_parts()
    path = save_checkpoint(tmp_path / "bare.pt", model=model, spec=ModelSpec(CONFIG))
    with pytest.raises(CheckpointError, match="no vocabularies"):
        model_from_checkpoint(load_checkpoint(path))


@pytest.mark.parametrize("map_location, torch_error", [
    ("cuda", None),  # asked for a GPU this machine lacks
    ("cdua", None),  # misspelt
    ("cpu", "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False."),
])
def test_a_good_checkpoint_on_a_missing_device_names_the_device_not_corruption(tmp_path, monkeypatch,
                                                                                map_location, torch_error):
    model, optimizer, _ = trained_parts()
    path = save(tmp_path / "best.pt", model, optimizer)
    before = path.read_bytes()
    monkeypatch.setattr(ckpt.torch.cuda, "is_available", lambda: False)  # the same on a GPU machine
    if torch_error is not None:  # a file whose tensors were saved on a GPU, read with map_location=None
        def load_gpu_tensors(*args, **kwargs):
            raise RuntimeError(torch_error)

        monkeypatch.setattr(ckpt.torch, "load", load_gpu_tensors)
    with pytest.raises(DeviceError) as info:
        load_checkpoint(path, map_location=map_location)
    message = str(info.value)
    assert "not available here" in message or "Unknown device 'cdua'" in message
    assert "map_location='cpu'" in message and "corrupt" not in message and "Delete" not in message
    assert path.read_bytes() == before
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 2  # the file was good all along


@pytest.mark.parametrize("side", ["src", "trg"])
def test_saving_vocabularies_that_do_not_fit_the_model_is_refused(tmp_path, side):
    model, optimizer, _ = trained_parts()
    bigger = Vocab.build([["ein", "hund", "läuft", "schnell"], ["eine", "katze"]], min_freq=1)
    spec = replace(SPEC, **{f"{side}_vocab": bigger})
    size = len(SRC_VOCAB) if side == "src" else len(TRG_VOCAB)
    part = "source embedding" if side == "src" else "output layer"
    with pytest.raises(CheckpointError, match=rf"{side}_vocab has {len(bigger)} entries but the model's {part} "
                                              rf"is built for {size}.*vocabularies the model was built with"):
        save_checkpoint(tmp_path / "best.pt", model=model, spec=spec)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temp file


def test_a_path_where_the_loaded_checkpoint_belongs_names_load_checkpoint(tmp_path):
    from seq2seq_lib.translator import Translator

    path = tmp_path / "best.pt"
    for call in (model_from_checkpoint, vocabs_from_checkpoint, lambda p: check_compatible(p, None)):
        with pytest.raises(TypeError, match=r"not a path: \w+\(load_checkpoint\("):
            call(path)
    with pytest.raises(TypeError, match=r"Translator.from_checkpoint\(path\)"):
        Translator.from_loaded(str(path))


def test_save_checkpoint_takes_the_history_fit_returns_and_refuses_a_bad_epoch(tmp_path):
    from seq2seq_lib.history import History

    model, spec = trained_parts()[0], SPEC
    history = History(train_loss=[2.0], val_loss=[1.5], val_loss_free_running=[1.8])
    saved = load_checkpoint(save_checkpoint(tmp_path / "a.pt", model=model, spec=spec, epoch=1, history=history))
    assert saved["history"] == history.to_dict() and saved["best_val_loss"] == 1.5
    with pytest.raises(ValueError, match="epoch must be the number of completed epochs"):
        save_checkpoint(tmp_path / "b.pt", model=model, spec=spec, epoch="x")


def test_a_random_state_that_is_not_one_names_where_to_find_it():
    with pytest.raises(ValueError, match=r"missing python, numpy, torch, cuda.*checkpoint\['rng_state'\]"):
        set_rng_state({})

"""Training loop: epochs, evaluation, best/last checkpoints, exact resume, NaN and Ctrl-C handling."""
import math
import random
from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from seq2seq_lib import train as train_module
from seq2seq_lib.batching import BucketIterator
from seq2seq_lib.checkpoint import CheckpointError, ModelSpec, load_checkpoint
from seq2seq_lib.config import ModelConfig, TrainConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.curves import plot_history
from seq2seq_lib.evaluation import evaluate_loss
from seq2seq_lib.history import History
from seq2seq_lib.train import NonFiniteLossError, StepOptions, TrainingInterrupted, fit, train_epoch, train_step
from seq2seq_lib.utils import get_device, set_seed
from seq2seq_lib.vocab import Vocab

matplotlib.use("Agg")
PAD, SOS, EOS = 1, 2, 3
CPU = torch.device("cpu")
VOCAB = Vocab([["<unk>", "<pad>", "<sos>", "<eos>"][i] if i < 4 else f"w{i}" for i in range(12)])
CONFIG = ModelConfig(emb_dim=16, hidden_dim=32, n_layers=2, dropout=0.1)
TRAIN = TrainConfig(epochs=2, lr=5e-3, precision="fp32", seed=3)
SPEC = ModelSpec(CONFIG, VOCAB, VOCAB)
TEACHER_FORCED = StepOptions(CPU, clip=1.0, teacher_forcing_ratio=1.0)


def copy_examples(n: int, seed: int) -> list:
    gen = torch.Generator().manual_seed(seed)
    examples = []
    for _ in range(n):
        body = torch.randint(4, len(VOCAB), (int(torch.randint(2, 7, (1,), generator=gen)),), generator=gen).tolist()
        examples.append(([SOS, *body, EOS], [SOS, *body, EOS]))
    return examples


def iterators(shuffle_seed: int = 0):
    train = BucketIterator(copy_examples(96, 0), batch_size=16, pad_idx=PAD, seed=shuffle_seed)
    val = BucketIterator(copy_examples(32, 1), batch_size=16, pad_idx=PAD, shuffle=False)
    return train, val


def new_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(CONFIG, len(VOCAB), len(VOCAB))


def run_fit(tmp_path, model=None, train_config=TRAIN, resume=False, batches=None):
    train, val = batches or iterators()
    return fit(model or new_model(), train, val, spec=SPEC, train_config=train_config, device=CPU, out_dir=tmp_path,
               resume=resume, progress=False)


def test_train_epoch_lowers_the_loss_and_evaluate_reports_perplexity():
    model, (train, val) = new_model(), iterators()
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    before = evaluate_loss(model, val, CPU, criterion=criterion)
    losses = [train_epoch(model, train, optimizer, TEACHER_FORCED, criterion, progress=False) for _ in range(4)]
    after = evaluate_loss(model, val, CPU, criterion=criterion)
    assert losses[-1] < losses[0] and after["loss"] < before["loss"]
    assert after["perplexity"] == pytest.approx(math.exp(after["loss"]))
    assert after["tokens"] == sum(len(t) - 1 for _, t in copy_examples(32, 1))


@pytest.mark.parametrize("fast", [True, False])
def test_evaluate_is_token_weighted_and_leaves_the_weights_alone(fast):
    model, (_, val) = new_model(), iterators()
    weights = [p.clone() for p in model.parameters()]
    result = evaluate_loss(model, val, CPU, teacher_forcing_ratio=1.0, fast=fast)
    total = tokens = 0
    model.eval()
    with torch.no_grad():
        for batch in val:
            logits = model(batch.src, batch.trg, 1.0, batch.src_lengths)[1:]
            total += nn.functional.cross_entropy(logits.flatten(0, 1), batch.trg[1:].flatten(), ignore_index=PAD,
                                                 reduction="sum").item()
            tokens += int((batch.trg[1:] != PAD).sum())
    assert result["loss"] == pytest.approx(total / tokens, rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))


@pytest.mark.cpu_bf16
def test_bf16_step_on_cpu_is_close_to_fp32():
    train, _ = iterators()
    batch = next(iter(train))
    losses = []
    for precision in ("fp32", "bf16"):
        model = new_model().eval()
        optimizer = torch.optim.Adam(model.parameters())
        losses.append(train_step(model, batch, optimizer, StepOptions(CPU, 1.0, 1.0, precision))[0])
    assert losses[1] == pytest.approx(losses[0], rel=0.02)


def test_grad_scaler_path_gives_the_same_update():
    """The fp16-on-CUDA path (scale, unscale, clip, step) gives the unscaled update, checked on the CPU."""
    batch = next(iter(iterators()[0]))
    models = []
    for scaler in (None, torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)):
        model = new_model().eval()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # SGD: the update shows the gradient's size
        train_step(model, batch, optimizer, StepOptions(CPU, 1.0, 1.0, "fp32", scaler=scaler))
        models.append(model)
    for a, b in zip(*(m.parameters() for m in models)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # scaling by 2**16 is exact; clipping rounds


def test_the_engine_and_the_textbook_take_the_same_step():
    batch = next(iter(iterators()[0]))
    models = []
    for fast in (True, False):
        torch.manual_seed(0)
        model = build_model(replace(CONFIG, dropout=0.0), len(VOCAB), len(VOCAB))
        optimizer = train_module.make_optimizer(model, 5e-3, fast)
        torch.manual_seed(1)  # the same coins
        train_step(model, batch, optimizer, StepOptions(CPU, 1.0, 0.5, fast=fast))
        models.append(model)
    for a, b in zip(*(m.parameters() for m in models)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)  # two kernels' rounding, one Adam step


@pytest.mark.parametrize("changes, message", [({"clip": 0}, "clip must be"), ({"teacher_forcing_ratio": 2}, "ratio"),
                                              ({"precision": "auto"}, "resolve 'auto'")])
def test_step_options_refuse_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        StepOptions(CPU, **changes)


def test_fit_keeps_the_lowest_teacher_forced_validation_loss_in_best_pt(tmp_path, monkeypatch, capsys):
    # scripted validation losses by teacher-forcing ratio: the free-running one is lowest at epoch 3,
    # the teacher-forced one (the perplexity, what best.pt is selected on) at epoch 2
    scripted = {1.0: iter([3.0, 2.0, 2.5]), 0.0: iter([4.0, 3.9, 3.5])}
    ratios = []
    real_evaluate = train_module.evaluate_loss

    def fake_evaluate(model, batches, device, teacher_forcing_ratio=0.0, *args, **kwargs):
        ratios.append(teacher_forcing_ratio)
        result = real_evaluate(model, batches, device, teacher_forcing_ratio, *args, **kwargs)
        return {**result, "loss": next(scripted[teacher_forcing_ratio])}

    monkeypatch.setattr(train_module, "evaluate_loss", fake_evaluate)
    history = run_fit(tmp_path, train_config=replace(TRAIN, epochs=3))
    assert ratios == [1.0, 0.0] * 3
    assert history.val_loss == [3.0, 2.0, 2.5] and history.val_loss_free_running == [4.0, 3.9, 3.5]
    assert history.best_epoch == 2 and history.val_ppl == pytest.approx([math.exp(v) for v in (3.0, 2.0, 2.5)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert "val loss teacher-forced 2.000 (ppl 7.39), free-running 3.900" in lines[1] and "saved best.pt" in lines[1]
    assert "saved best.pt" not in lines[2]
    best, last = load_checkpoint(tmp_path / "best.pt"), load_checkpoint(tmp_path / "last.pt")
    assert best["epoch"] == 2 and best["best_val_loss"] == 2.0 and best["optimizer_state"] is None
    assert best["src_vocab"]["itos"] == VOCAB.itos and best["model_config"]["hidden_dim"] == 32
    assert last["epoch"] == 3 and last["optimizer_state"] is not None and last["rng_state"] is not None
    assert len(history.tokens_per_second) == 3 and min(history.tokens_per_second) > 0


def test_resume_gives_exactly_the_weights_of_an_uninterrupted_run(tmp_path):
    straight = new_model()
    run_fit(tmp_path / "straight", straight)
    run_fit(tmp_path / "split", new_model(), train_config=replace(TRAIN, epochs=1))
    resumed = new_model(seed=99)  # its own weights are replaced by last.pt's
    history = run_fit(tmp_path / "split", resumed, resume=True)
    assert len(history.train_loss) == 2
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_learning_rate_decay_follows_the_schedule_and_survives_resume(tmp_path, monkeypatch):
    decaying = replace(TRAIN, epochs=3, lr=4e-3, lr_decay=0.5, lr_decay_after=1)
    assert [train_module.epoch_learning_rate(decaying, e) for e in range(3)] == [4e-3, 2e-3, 1e-3]
    seen = []
    real_train_epoch = train_module._train_epoch

    def recording(model, batches, optimizer, *args, **kwargs):
        seen.append(optimizer.param_groups[0]["lr"])
        return real_train_epoch(model, batches, optimizer, *args, **kwargs)

    monkeypatch.setattr(train_module, "_train_epoch", recording)
    straight = new_model()
    run_fit(tmp_path / "straight", straight, train_config=decaying)
    assert seen == [4e-3, 2e-3, 1e-3]
    run_fit(tmp_path / "split", new_model(), train_config=replace(decaying, epochs=2))
    resumed = new_model(seed=99)
    run_fit(tmp_path / "split", resumed, train_config=decaying, resume=True)
    assert seen[3:] == [4e-3, 2e-3, 1e-3]
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    constant = replace(TRAIN, lr=1e-3)
    assert {train_module.epoch_learning_rate(constant, e) for e in range(10)} == {1e-3}


@pytest.mark.parametrize("field, value, message", [
    ("lr_decay", 0.0, "lr_decay must be in \\(0, 1\\]"), ("lr_decay", 1.5, "0.5 halves it"),
    ("lr_decay_after", -1, "lr_decay_after must be an integer >= 0"), ("lr_decay_after", 2.5, "epochs at"),
])
def test_bad_learning_rate_schedules_are_rejected(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})
    with pytest.raises(ValueError, match="epoch must be an integer >= 0"):
        train_module.epoch_learning_rate(TRAIN, -1)


def test_resume_refuses_to_go_past_the_last_epoch(tmp_path):
    run_fit(tmp_path, train_config=replace(TRAIN, epochs=1))
    with pytest.raises(ValueError, match="already finished 1 epoch.*replace\\(train_config, epochs="):
        run_fit(tmp_path, train_config=replace(TRAIN, epochs=1), resume=True)
    other = replace(CONFIG, dropout=0.3)
    with pytest.raises(CheckpointError, match="model_config.dropout is 0.3 here but 0.1"):
        fit(build_model(other, len(VOCAB), len(VOCAB)), *iterators(), spec=replace(SPEC, model_config=other),
            train_config=replace(TRAIN, epochs=2), device=CPU, out_dir=tmp_path, resume=True)
    with pytest.raises(FileNotFoundError, match="no .*last.pt.*without resume"):
        run_fit(tmp_path / "empty", resume=True)


def test_nan_loss_stops_with_a_clear_error_before_touching_the_weights(tmp_path):
    model = new_model()
    with torch.no_grad():
        model.decoder.fc_out.bias[5] = float("nan")
    weights = [p.clone() for p in model.parameters()]
    with pytest.raises(NonFiniteLossError, match="batch 1.*lower learning rate"):
        run_fit(tmp_path, model)
    assert all(torch.equal(a.nan_to_num(), b.nan_to_num()) for a, b in zip(weights, model.parameters()))
    assert not (tmp_path / "best.pt").exists()


class InterruptingBatches:
    """Yields the wrapped batches but raises KeyboardInterrupt at batch `at` of pass `on_pass`."""

    def __init__(self, batches, on_pass: int, at: int) -> None:
        self.batches, self.on_pass, self.at, self.passes = batches, on_pass, at, 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        self.passes += 1
        for index, batch in enumerate(self.batches):
            if self.passes == self.on_pass and index == self.at:
                raise KeyboardInterrupt
            yield batch


def test_ctrl_c_keeps_best_pt_saves_last_pt_and_says_how_to_resume(tmp_path):
    train, val = iterators()
    interrupting = InterruptingBatches(train, on_pass=2, at=3)
    with pytest.raises(TrainingInterrupted, match=r"epoch 2 after 3/6 batches.*resume=True") as caught:
        run_fit(tmp_path, batches=(interrupting, val))
    assert len(caught.value.history.train_loss) == 1
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    history = run_fit(tmp_path, resume=True)
    assert len(history.train_loss) == 2


def test_plot_history_draws_loss_and_perplexity_with_both_validation_curves_labelled():
    figure = plot_history(History(train_loss=[3.0, 2.0], val_loss=[3.2, 2.5], val_loss_free_running=[4.0, 3.8]))
    loss_axis, ppl_axis = figure.axes
    assert loss_axis.get_ylabel() == "loss" and ppl_axis.get_ylabel().startswith("perplexity")
    for axis in (loss_axis, ppl_axis):
        assert [line.get_label() for line in axis.lines] == ["train", "validation, teacher-forced",
                                                             "validation, free-running"]
    assert list(ppl_axis.lines[1].get_ydata()) == pytest.approx([math.exp(3.2), math.exp(2.5)])
    assert list(loss_axis.lines[2].get_ydata()) == pytest.approx([4.0, 3.8])
    with pytest.raises(ValueError, match="needs a History"):
        plot_history({"train_loss": [3.0]})


def test_a_history_saved_before_both_validation_losses_were_kept_loads_with_its_loss_as_free_running(tmp_path):
    old = {"train_loss": [5.0, 4.0], "val_loss": [4.8, 4.5], "epoch_seconds": [1.0, 1.0],
           "tokens_per_second": [10.0, 10.0]}
    history = History.from_dict(old)
    assert history.val_loss_free_running == [4.8, 4.5] and all(math.isnan(v) for v in history.val_loss)
    assert history.best_epoch == 2  # what such a run kept: the lowest free-running loss
    assert all(math.isnan(v) for v in history.val_ppl)
    assert [line.get_label() for line in plot_history(history).axes[0].lines] == ["train", "validation, free-running"]
    assert History.from_dict(History(train_loss=[1.0], val_loss=[2.0], val_loss_free_running=[3.0]).to_dict()) == \
        History(train_loss=[1.0], val_loss=[2.0], val_loss_free_running=[3.0])
    with pytest.raises(ValueError, match="Unknown history entries \\['val_los'\\]"):
        History.from_dict({"val_los": [1.0]})


def test_resuming_a_run_saved_before_both_losses_were_kept(tmp_path):
    """last.pt of an older run: its history has one val_loss (free running); fit resumes and fills in both."""
    run_fit(tmp_path, train_config=replace(TRAIN, epochs=1))
    last = load_checkpoint(tmp_path / "last.pt")
    old = last["history"]
    old["val_loss"] = old.pop("val_loss_free_running")
    torch.save(last, tmp_path / "last.pt")
    history = run_fit(tmp_path, resume=True)
    assert math.isnan(history.val_loss[0]) and math.isfinite(history.val_loss[1])
    assert len(history.val_loss_free_running) == 2 and history.best_epoch == 2
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 2  # the first measured teacher-forced loss


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="non-empty iterable of batches"):
        run_fit(tmp_path, batches=([], iterators()[1]))
    with pytest.raises(ValueError, match="TrainConfig"):
        fit(new_model(), *iterators(), spec=SPEC, train_config={"epochs": 1}, device=CPU, out_dir=tmp_path)
    with pytest.raises(ValueError, match="ModelSpec"):
        fit(new_model(), *iterators(), spec=CONFIG, train_config=TRAIN, device=CPU, out_dir=tmp_path)


def test_live_plot_redraws_after_every_epoch(tmp_path, monkeypatch):
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "clear_output", lambda wait=False: calls.append("clear"))
    monkeypatch.setattr(IPython.display, "display", lambda figure: calls.append(type(figure).__name__))
    train, val = iterators()
    fit(new_model(), train, val, spec=SPEC, train_config=TRAIN, device=CPU, out_dir=tmp_path, live_plot=True,
        progress=False)
    assert calls == ["clear", "Figure"] * 2


def test_get_device_falls_back_to_cpu_and_says_so(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == CPU
    assert "Using the CPU" in capsys.readouterr().out
    assert get_device("cpu", verbose=False) == CPU
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        get_device("cuda")
    with pytest.raises(ValueError, match="Unknown device 'gpu0'"):
        get_device("gpu0")


def test_set_seed_reproduces_and_validates():
    set_seed(5)
    first = (torch.rand(3), np.random.rand(), random.random())
    set_seed(5)
    assert torch.equal(first[0], torch.rand(3)) and first[1:] == (np.random.rand(), random.random())
    with pytest.raises(ValueError, match="seed must be an integer"):
        set_seed(-1)


# ---------------------------------------------------------------- bad input a learner is likely to give


@pytest.mark.parametrize("device, message", [("gpu", "Unknown device 'gpu'"), ("cuda", "no CUDA GPU found")])
def test_a_device_that_is_not_here_names_the_fix_everywhere_it_is_taken(device, message, monkeypatch):
    from seq2seq_lib.translator import Translator
    from seq2seq_lib.fields import Field

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    fields = (Field("de"), Field("en"))
    for field in fields:
        field.vocab = VOCAB
    calls = {"StepOptions": lambda: StepOptions(device),
             "evaluate_loss": lambda: evaluate_loss(new_model(), iterators()[1], device),
             "BucketIterator": lambda: BucketIterator(copy_examples(4, 0), 2, PAD, device=device),
             "Translator": lambda: Translator(new_model(), *fields, device=device)}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=f"{message}.*pass device='cpu'"):
            call()


def test_batches_given_as_tuples_are_refused_with_the_way_to_make_batches():
    src, trg = torch.full((4, 2), 5), torch.full((5, 2), 6)
    optimizer = torch.optim.Adam(new_model().parameters())
    with pytest.raises(TypeError, match="must be a Batch with .src .* BucketIterator"):
        train_step(new_model(), (src, trg), optimizer, TEACHER_FORCED)
    with pytest.raises(TypeError, match=r"batches\[0\] must be a Batch"):
        evaluate_loss(new_model(), [(src, trg)], CPU)
    with pytest.raises(TypeError, match="options must be a StepOptions"):
        train_step(new_model(), next(iter(iterators()[0])), optimizer, "cpu")


def test_sentence_pairs_where_ids_are_expected_name_numericalize_pairs():
    with pytest.raises(TypeError, match="pairs of integer ids.*numericalize_pairs"):
        BucketIterator([("Ein Hund.", "A dog.")], 2, PAD)
    with pytest.raises(TypeError, match="pad_idx must be the id of <pad>"):
        BucketIterator(copy_examples(4, 0), 2, "<pad>")


@pytest.mark.parametrize("setting, match", [
    ({"seed": "1"}, "seed must be an integer"), ({"seed": -1}, "seed must be an integer"),
    ({"lr": float("inf")}, "lr must be a positive number"), ({"lr": "1e-3"}, "lr must be a positive number"),
    ({"lr": True}, "lr must be a positive number"), ({"epochs": True}, "epochs must be an integer"),
    ({"teacher_forcing_ratio": "0.5"}, "teacher_forcing_ratio must be in"),
    ({"teacher_forcing_ratio": True}, "teacher_forcing_ratio must be in"),
    ({"clip": float("inf")}, "clip must be a positive number"), ({"clip": None}, "clip must be a positive number"),
], ids=lambda value: repr(value) if isinstance(value, dict) else None)
def test_a_training_setting_of_the_wrong_kind_is_refused_when_the_config_is_made(setting, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**setting)


def test_fit_and_make_optimizer_refuse_arguments_of_the_wrong_kind(tmp_path):
    from seq2seq_lib.train import make_optimizer

    train, val = iterators()
    with pytest.raises(TypeError, match="out_dir must be a folder path"):
        fit(new_model(), train, val, spec=SPEC, train_config=TRAIN, device=CPU, out_dir=None)
    with pytest.raises(TypeError, match="fit trains a model"):
        fit("model", train, val, spec=SPEC, train_config=TRAIN, device=CPU, out_dir=tmp_path)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        make_optimizer(new_model(), "1e-3")


def test_the_learning_rate_schedule_names_a_config_of_the_wrong_kind():
    from seq2seq_lib.train import epoch_learning_rate

    with pytest.raises(TypeError, match="train_config must be a TrainConfig"):
        epoch_learning_rate(CONFIG, 0)
    with pytest.raises(ValueError, match="epoch must be an integer >= 0"):
        epoch_learning_rate(TRAIN, True)

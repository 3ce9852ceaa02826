"""Exercises of notebooks 06-07: right answers pass, typical wrong answers get the hint that fits."""
from __future__ import annotations

import pytest
import torch

from seq2seq_lib.exercises import check
from seq2seq_lib.exercises.nb06 import COINS, EXAMPLE_TRG, PREDICTIONS, TRG_LENGTHS, fed_inputs, loss_inputs
from seq2seq_lib.exercises import nb06, nb07
from seq2seq_lib.exercises.nb07 import CLIP, GRAD_NORMS, PRECISIONS, VAL_LOSSES
from tolerance import FP32

NAMES = ["06.loss_slices", "06.fed_inputs", "06.n_tokens", "06.epochs_experiment",
         "07.best_epoch", "07.clip", "07.precision", "07.evaluate", "07.lr_experiment"]


def verdict(name: str, answer: object):
    return check(name, answer, quiet=True)


@pytest.mark.parametrize("name, answer", [(name, answer) for name in NAMES
                                          for answer in (None, "text", 3.5, [object()])])
def test_malformed_answers_are_feedback_not_crashes(name, answer):
    feedback = verdict(name, answer)
    assert not feedback and feedback.hint


# ---------------------------------------------------------------- 06


def test_loss_slices_right_answers():
    assert verdict("06.loss_slices", loss_inputs)
    assert verdict("06.loss_slices", lambda outputs, trg: (outputs[1:].view(-1, outputs.shape[-1]), trg[1:].view(-1)))
    assert verdict("06.loss_slices", lambda o, t: (o[1:].flatten(0, 1), t[1:].flatten()))


def test_loss_inputs_match_the_models_loss():
    """The checker's reference is what Seq2Seq.loss computes: CrossEntropyLoss on outputs[1:] vs trg[1:]."""
    from seq2seq_lib.config import ModelConfig
    from seq2seq_lib.models import build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0), 12, 11).eval()
    src, trg = torch.randint(4, 12, (5, 3)), torch.randint(4, 11, (6, 3))
    trg[0], trg[-1, 0] = 2, 1
    logits, targets = loss_inputs(model(src, trg, 1.0), trg)
    expected = torch.nn.CrossEntropyLoss(ignore_index=1)(logits, targets)
    torch.testing.assert_close(model.loss(src, trg, 1.0)[0], expected, **FP32)


@pytest.mark.parametrize("answer, hint", [
    (lambda o, t: (o[:-1].reshape(-1, o.shape[-1]), t[1:].reshape(-1)), "outputs[:-1]"),
    (lambda o, t: (o[1:].reshape(-1, o.shape[-1]), t[:-1].reshape(-1)), "trg[:-1]"),
    (lambda o, t: (o.reshape(-1, o.shape[-1]), t.reshape(-1)), "row 0 of outputs is all zeros"),
    (lambda o, t: (o[1:], t[1:]), "(N, V)"),
    (lambda o, t: (o[1:].reshape(-1, o.shape[-1]), t[1:].t().reshape(-1)), "without transposing"),
    (lambda o, t: o[1:], "two tensors"),
    (lambda o, t: ("logits", "targets"), "two tensors"),
    ("outputs[1:]", "function"),
])
def test_loss_slices_wrong_answers(answer, hint):
    feedback = verdict("06.loss_slices", answer)
    assert not feedback and hint in feedback.hint


def test_loss_slices_reports_a_crashing_function():
    feedback = verdict("06.loss_slices", lambda o, t: o[1:].reshape(-1, 99))
    assert not feedback and "could not be checked" in feedback.hint


def test_fed_inputs_right_answer():
    answer = ["<sos>", "a", "dogs", "runs"]
    assert fed_inputs(EXAMPLE_TRG, PREDICTIONS, COINS) == answer
    assert verdict("06.fed_inputs", answer)
    assert verdict("06.fed_inputs", tuple(answer))


@pytest.mark.parametrize("answer, hint", [
    (["<sos>", "two", "dogs", "play"], "teacher_forcing_ratio = 1"),
    (["<sos>", "a", "dog", "runs"], "free running"),
    (["<sos>", "two", "dog", "play"], "swapped"),
    (["<sos>", "a", "dogs", "runs", "<eos>"], "never fed"),
    (["a", "dogs", "runs", "."], "always fed <sos>"),
    (["<sos>", "a", "play", "runs"], "hand the decoder the answer"),
    (["<sos>", "dog", "dogs", "."], "step t-1"),
    ("<sos> a dogs runs", "list of four tokens"),
])
def test_fed_inputs_wrong_answers(answer, hint):
    feedback = verdict("06.fed_inputs", answer)
    assert not feedback and hint in feedback.hint


def test_n_tokens():
    assert verdict("06.n_tokens", 24)
    assert verdict("06.n_tokens", torch.tensor(24))
    T, B = max(TRG_LENGTHS), len(TRG_LENGTHS)
    for answer, hint in [(sum(TRG_LENGTHS), "<sos> is never predicted"), ((T - 1) * B, "ignore_index"),
                         (T * B, "drop row 0"), (sum(TRG_LENGTHS) - 2 * B, "<eos> is predicted"),
                         (23, "length minus 1"), (24.0, "whole number")]:
        feedback = verdict("06.n_tokens", answer)
        assert not feedback and hint in feedback.hint, answer


# ---------------------------------------------------------------- 07


def test_best_epoch():
    assert VAL_LOSSES.index(min(VAL_LOSSES)) + 1 == 3
    assert verdict("07.best_epoch", 3)
    for answer, hint in [(1, "highest"), (5, "last.pt"), (2, "counted from 1"), (9, "numbered 1 to 5"),
                         (4, "smallest"), (3.0, "whole number")]:
        feedback = verdict("07.best_epoch", answer)
        assert not feedback and hint in feedback.hint, answer


def test_best_epoch_agrees_with_history():
    from seq2seq_lib.history import History

    history = History(train_loss=list(VAL_LOSSES), val_loss=list(VAL_LOSSES), val_loss_free_running=[6.0] * 5)
    assert verdict("07.best_epoch", history.best_epoch)


def test_clip_matches_torch():
    after = []
    for norm in GRAD_NORMS:
        param = torch.nn.Parameter(torch.zeros(2))
        param.grad = torch.tensor([norm * 0.6, norm * 0.8])  # a gradient of length `norm`
        torch.nn.utils.clip_grad_norm_([param], CLIP)
        after.append(param.grad.norm().item())
    assert verdict("07.clip", after)
    assert verdict("07.clip", (1, 0.5))
    for answer, hint in [((1.0, 1.0), "only ever shrinks"), (GRAD_NORMS, "before clipping"),
                         ((0.25, 0.5), "factor"), ((1.0, 0.4), "min(norm, clip)"), (1.0, "2 numbers")]:
        feedback = verdict("07.clip", answer)
        assert not feedback and hint in feedback.hint, answer


def test_precision():
    assert verdict("07.precision", PRECISIONS)
    assert verdict("07.precision", ["FP32", "fp32", "BF16", "fp32"])
    feedback = verdict("07.precision", ("fp16", "bf16", "bf16", "fp32"))
    assert not feedback and "CUDA" in feedback.hint and "AVX2" not in feedback.hint
    feedback = verdict("07.precision", ("fp32", "fp32", "fp32", "bf16"))
    assert not feedback and "AMX" in feedback.hint and "AVX2-only" in feedback.hint
    assert not verdict("07.precision", ("fp32", "fp32"))


def test_precision_answers_match_the_library():
    from seq2seq_lib import precision

    assert precision.resolve_precision("auto", torch.device("mps")) == "fp32"
    native = precision._native_bf16_cpu() and precision.bf16_support("cpu") is None
    # this machine's CPU is either the exercise's bf16 CPU or, like the AVX2 laptop, one without native bf16
    assert precision.resolve_precision("auto", torch.device("cpu")) == PRECISIONS[2 if native else 3]


def right_evaluate(model, batches, device):
    model.eval()
    total = tokens = 0
    with torch.no_grad():
        for batch in batches:
            loss, n = model.loss(batch.src.to(device), batch.trg.to(device), 1.0, batch.src_lengths)
            total, tokens = total + loss.item() * n, tokens + n
    return total / tokens


def test_evaluate_right_answers():
    from seq2seq_lib.evaluation import evaluate_loss

    assert verdict("07.evaluate", right_evaluate)
    assert verdict("07.evaluate", lambda model, batches, device: evaluate_loss(model, batches, device, 1.0)["loss"])
    # the default of evaluate_loss is ratio 0, free running: not the perplexity
    feedback = verdict("07.evaluate", lambda model, batches, device: evaluate_loss(model, batches, device)["loss"])
    assert not feedback and "free-running" in feedback.hint


def without(step: str):
    """right_evaluate with one typical mistake."""
    def answer(model, batches, device):
        if step != "eval":
            model.eval()
        total = tokens = 0
        means = []
        grad = torch.enable_grad() if step == "no_grad" else torch.no_grad()
        with grad:
            for batch in batches:
                ratio = 0.0 if step == "ratio" else 1.0
                loss, n = model.loss(batch.src.to(device), batch.trg.to(device), ratio, batch.src_lengths)
                total, tokens = total + loss.item() * n, tokens + n
                means.append(loss.item())
        return sum(means) / len(means) if step == "per_token" else total / tokens
    return answer


@pytest.mark.parametrize("step, hint", [
    ("eval", "model.eval()"), ("no_grad", "torch.no_grad()"), ("ratio", "teacher_forcing_ratio=1.0"),
    ("per_token", "per-batch means"),
])
def test_evaluate_wrong_answers(step, hint):
    feedback = verdict("07.evaluate", without(step))
    assert not feedback and hint in feedback.hint


def test_evaluate_other_mistakes():
    feedback = verdict("07.evaluate", lambda model, batches, device: 1.0)
    assert not feedback and "never ran the model" in feedback.hint
    feedback = verdict("07.evaluate", lambda model, batches, device: "low")
    assert not feedback and "one number" in feedback.hint


# ---------------------------------------------------------------- experiments (bands measured in the ci profile)


@pytest.fixture
def ci_profile(monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_PROFILE", "ci")


def test_epochs_experiment_judges_the_measured_losses_within_their_bands(ci_profile, monkeypatch):
    assert verdict("06.epochs_experiment", (3.44, 5.62))
    assert verdict("06.epochs_experiment", {"teacher_forced": 3.42, "free_running": 5.71})
    for answer, hint in [((5.62, 3.44), "swapped"), ((4.0, 4.9), "after 1 epoch"), ((2.0, 9.0), "EPOCHS = 3"),
                         ((3.44,), "two numbers"), ("3.44, 5.62", "two numbers")]:
        feedback = verdict("06.epochs_experiment", answer)
        assert not feedback and hint in feedback.hint, answer
    low, high = nb06.EXPERIMENT_BANDS["teacher_forced"]
    assert low < 3.42 and 3.45 < high and nb06.ONE_EPOCH_BANDS["teacher_forced"][0] > high  # bands do not overlap
    monkeypatch.setenv("SEQ2SEQ_PROFILE", "full")
    feedback = verdict("06.epochs_experiment", (3.44, 5.62))
    assert not feedback and "`ci` profile" in feedback.hint


def test_lr_experiment_judges_the_perplexity_within_its_band(ci_profile, monkeypatch):
    assert verdict("07.lr_experiment", 98.2) and verdict("07.lr_experiment", torch.tensor(95.0))
    for answer, hint in [(114.4, "recipe's lr 0.001"), (4.587, "exp"), (60.0, "val_ppl"), ("98", "one number")]:
        feedback = verdict("07.lr_experiment", answer)
        assert not feedback and hint in feedback.hint, answer
    assert nb07.RECIPE_LR_BAND[0] > nb07.LR_BAND[1]
    monkeypatch.setenv("SEQ2SEQ_PROFILE", "full")
    feedback = verdict("07.lr_experiment", 98.2)
    assert not feedback and "`ci` profile" in feedback.hint


@pytest.mark.multi30k
def test_lr_experiment_band_holds_for_a_real_ci_run(multi30k_dir, tmp_path, monkeypatch, ci_profile):
    """The band is what the notebook's cell measures: one epoch of fit from the seeded ci model, lr 0.003."""
    from seq2seq_lib.config import get_profile, replace
    from seq2seq_lib.models import build_model
    from seq2seq_lib.prepare import prepare_data
    from seq2seq_lib.train import fit
    from seq2seq_lib.utils import set_seed

    monkeypatch.setenv("SEQ2SEQ_DATA_DIR", str(multi30k_dir))
    profile = get_profile("ci")
    data = prepare_data(profile)
    set_seed(profile.train.seed)
    model = build_model(profile.model, len(data.src_field.vocab), len(data.trg_field.vocab),
                        pad_idx=data.pad_idx, sos_idx=data.sos_idx)
    history = fit(model, data.iterator("train", device="cpu", seed=profile.train.seed), data.iterator("val", device="cpu"),
                  spec=data.spec(profile.model), train_config=replace(profile.train, epochs=1, lr=nb07.EXPERIMENT_LR),
                  device="cpu", out_dir=tmp_path, progress=False)
    assert verdict("07.lr_experiment", history.val_ppl[-1])

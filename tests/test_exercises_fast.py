"""Exercises of appendix A1: the checkers' answers are what the engine really does, and wrong answers get hints."""
from __future__ import annotations

import pytest
import torch

from seq2seq_lib import fast
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.exercises import available, check
from seq2seq_lib.exercises.nbA1 import (COINS, EXPERIMENT_RATIO, EXPERIMENT_SEED, TRG_LENGTHS, decoder_blocks,
                                        experiment_calls, padded_targets, projected_rows)
from seq2seq_lib.models.seq2seq import teacher_forcing_coins
from seq2seq_lib.utils import set_seed
from seq2seq_lib.models import build_model

NAMES = ["A1.decoder_calls", "A1.projected_rows", "A1.ratio_experiment"]
VOCAB = 40


def verdict(name: str, answer: object):
    return check(name, answer, quiet=True)


def tiny_model():
    torch.manual_seed(0)
    return build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=2, dropout=0.0), VOCAB, VOCAB).eval()


def test_the_appendix_exercises_are_registered():
    assert set(NAMES) <= set(available())


@pytest.mark.parametrize("name, answer", [(name, answer) for name in NAMES
                                          for answer in (None, "text", 3.5, [object()], True)])
def test_malformed_answers_are_feedback_not_crashes(name, answer):
    feedback = verdict(name, answer)
    assert not feedback and feedback.hint


# ---------------------------------------------------------------- A1.decoder_calls


@pytest.mark.parametrize("coins", [list(COINS), [True] * 6, [False] * 5, [False, True, True, False, True],
                                   [True, False], [True]])
def test_decoder_blocks_are_the_engines_calls(coins, monkeypatch):
    """decoder_blocks counts what fast.teacher_forced_features runs, one run_decoder call per block."""
    model = tiny_model()
    sizes = []
    run_decoder = fast.run_decoder

    def counting(decoder, inputs, state):
        sizes.append(inputs.shape[0])
        return run_decoder(decoder, inputs, state)

    monkeypatch.setattr(fast, "run_decoder", counting)
    src = torch.randint(4, VOCAB, (5, 2))
    trg = torch.randint(4, VOCAB, (len(coins) + 1, 2))
    with torch.no_grad():
        features = fast.teacher_forced_features(model, trg, coins, model.encode(src))
    blocks = decoder_blocks(coins)
    assert features.shape[0] == len(coins)
    assert sizes == [last - first + 1 for first, last in blocks]


def test_decoder_calls_right_answer():
    assert len(decoder_blocks(COINS)) == 4
    assert verdict("A1.decoder_calls", 4)
    assert verdict("A1.decoder_calls", torch.tensor(4))


@pytest.mark.parametrize("answer, hint", [
    (len(COINS), "what the textbook loop makes"),
    (COINS.count(False), "one block before the first"),
    (COINS.count(True), "True coins"),
    (9, "walk along the coins"),
])
def test_decoder_calls_wrong_answers(answer, hint):
    feedback = verdict("A1.decoder_calls", answer)
    assert not feedback and hint in feedback.hint


# ---------------------------------------------------------------- A1.projected_rows


def test_projected_rows_are_what_the_textbook_and_the_engine_project(monkeypatch):
    model = tiny_model()
    trg = padded_targets(TRG_LENGTHS)
    src = torch.randint(4, VOCAB, (6, trg.shape[1]))
    textbook_rows = []
    hook = model.decoder.fc_out.register_forward_hook(
        lambda module, args, output: textbook_rows.append(args[0].shape[0]))
    model.loss(src, trg, 1.0)
    hook.remove()
    engine_rows = []
    fused = fast.linear_cross_entropy

    def counting(x, *rest):
        engine_rows.append(x.shape[0])
        return fused(x, *rest)

    monkeypatch.setattr(fast, "linear_cross_entropy", counting)
    fast.loss(model, src, trg, 1.0)
    assert (sum(textbook_rows), sum(engine_rows)) == projected_rows(trg) == (44, 29)


def test_projected_rows_right_answers():
    assert verdict("A1.projected_rows", (44, 29))
    assert verdict("A1.projected_rows", [44, 29])


@pytest.mark.parametrize("answer, hint", [
    ((29, 44), "swapped"),
    ((48, 29), "row 0 of outputs is never computed"),
    ((29, 29), "does not skip padding"),
    ((44, 33), "<sos> is an input"),
    ((44, 25), "<eos> is a target"),
    ((44, 44), "only the rows where trg[1:] is not <pad>"),
    ((40, 30), "(T - 1) x B"),
    ((44,), "two whole numbers"),
])
def test_projected_rows_wrong_answers(answer, hint):
    feedback = verdict("A1.projected_rows", answer)
    assert not feedback and hint in feedback.hint


# ---------------------------------------------------------------- A1.ratio_experiment


def run_experiment(ratio: float, n_steps: int = 14) -> int:
    """What the notebook's cell does: seed, draw the coins, count the engine's decoder calls."""
    model = tiny_model()
    src, trg = torch.randint(4, VOCAB, (5, 2)), torch.randint(4, VOCAB, (n_steps + 1, 2))
    calls = []
    run_decoder = fast.run_decoder

    def counting(decoder, inputs, state):
        calls.append(inputs)
        return run_decoder(decoder, inputs, state)

    set_seed(EXPERIMENT_SEED)
    coins = teacher_forcing_coins(n_steps, ratio)
    fast.run_decoder = counting
    try:
        with torch.no_grad():
            fast.teacher_forced_features(model, trg, coins, model.encode(src))
    finally:
        fast.run_decoder = run_decoder
    return len(calls)


def test_the_experiment_counts_what_the_engine_does():
    for ratio in (0.5, EXPERIMENT_RATIO):
        assert run_experiment(ratio) == experiment_calls(14, ratio)
    assert run_experiment(EXPERIMENT_RATIO) < run_experiment(0.5)  # more gold inputs, longer blocks
    assert verdict("A1.ratio_experiment", (14, run_experiment(EXPERIMENT_RATIO)))


@pytest.mark.parametrize("wrong, hint", [("start", "that is the count at ratio 0.5"),
                                         ("steps", "one call per step"), ("many", "between 1 and 14")])
def test_ratio_experiment_wrong_answers(wrong, hint):
    calls = {"start": run_experiment(0.5), "steps": 14, "many": 20}[wrong]
    feedback = verdict("A1.ratio_experiment", (14, calls))
    assert not feedback and hint in feedback.hint

"""The teacher-forcing widget's logic: the trace replays Seq2Seq.forward step by step."""
from __future__ import annotations

import re

import pytest
import torch

from seq2seq_lib.config import ModelConfig, replace
from seq2seq_lib.models import build_model
from seq2seq_lib.widgets.teacher_forcing import (
    TraceRow, format_trace_html, input_sources, teacher_forcing_trace, trace_summary,
)

CONFIG = ModelConfig(emb_dim=16, hidden_dim=24, n_layers=2, dropout=0.3)


def sensitive(model):
    """Redraw the weights from uniform(-2, 2): a freshly built model mostly ignores the token it is fed,
    which would let a trace that feeds the wrong tokens pass unnoticed."""
    for param in model.parameters():
        torch.nn.init.uniform_(param, -2.0, 2.0)
    return model


@pytest.fixture(scope="module")
def model(src_field, trg_field):
    torch.manual_seed(0)
    return sensitive(build_model(CONFIG, len(src_field.vocab), len(trg_field.vocab)))


@pytest.fixture(scope="module")
def pair(sample_data):
    return sample_data.examples["train"][0]


def forward_predictions(model, src_ids, trg_ids, ratio, seed):
    """argmax of outputs[1:] from the model's own forward, same seed, dropout off."""
    model.eval()
    torch.manual_seed(seed)
    outputs = model(torch.tensor(src_ids).unsqueeze(1), torch.tensor(trg_ids).unsqueeze(1), ratio)  # (T, 1, V)
    return outputs[1:, 0].argmax(-1).tolist()


def coins_of_forward(n_steps, ratio, seed):
    """The coins Seq2Seq.decode_features draws from the global generator after manual_seed(seed)."""
    torch.manual_seed(seed)
    return (torch.rand(n_steps) < ratio).tolist()


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("seed", [0, 7])
def test_trace_predicts_what_forward_predicts(model, pair, ratio, seed):
    src_ids, trg_ids = pair
    rows = teacher_forcing_trace(model, src_ids, trg_ids, ratio, seed)
    assert [row.step for row in rows] == list(range(1, len(trg_ids)))
    assert [row.predicted_id for row in rows] == forward_predictions(model, src_ids, trg_ids, ratio, seed)


def test_predictions_depend_on_what_is_fed(model, pair):
    """Guards the test above: with these weights, gold and guessed inputs lead to different predictions."""
    runs = {ratio: tuple(forward_predictions(model, *pair, ratio, seed=0)) for ratio in (0.0, 0.5, 1.0)}
    assert len(set(runs.values())) == 3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sources_are_the_coins_forward_draws(seed):
    coins = coins_of_forward(9, 0.5, seed)
    assert input_sources(9, 0.5, seed) == ["start"] + ["gold" if c else "model" for c in coins[:8]]


def test_fed_tokens_follow_the_sources(model, pair):
    src_ids, trg_ids = pair
    rows = teacher_forcing_trace(model, src_ids, trg_ids, 0.5, seed=3)
    assert rows[0].source == "start" and rows[0].fed_id == trg_ids[0]
    for previous, row in zip(rows, rows[1:]):
        expected = trg_ids[row.step - 1] if row.source == "gold" else previous.predicted_id
        assert row.fed_id == expected
        assert row.target_id == trg_ids[row.step]


def test_ratio_one_feeds_only_gold_and_ratio_zero_only_guesses(model, pair):
    src_ids, trg_ids = pair
    teacher = teacher_forcing_trace(model, src_ids, trg_ids, 1.0)
    free = teacher_forcing_trace(model, src_ids, trg_ids, 0.0)
    assert [row.fed_id for row in teacher] == trg_ids[:-1]  # the last token, <eos>, is never fed
    assert {row.source for row in teacher[1:]} == {"gold"}
    assert {row.source for row in free[1:]} == {"model"}
    assert [row.fed_id for row in free[1:]] == [row.predicted_id for row in free[:-1]]


def test_coins_change_with_the_seed_and_repeat_with_it():
    assert input_sources(20, 0.5, 1) == input_sources(20, 0.5, 1)
    assert len({tuple(input_sources(20, 0.5, seed)) for seed in range(5)}) > 1
    gold_share = sum(s == "gold" for seed in range(50) for s in input_sources(21, 0.3, seed)[1:]) / 1000
    assert 0.25 < gold_share < 0.35


def test_trace_leaves_the_global_generator_and_the_mode_alone(model, pair):
    model.train()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    teacher_forcing_trace(model, *pair, ratio=0.5, seed=11)
    assert torch.equal(torch.rand(3), expected)
    assert model.training
    model.eval()
    teacher_forcing_trace(model, *pair, ratio=0.5)
    assert not model.training


def test_text_and_tensors_give_the_same_trace(model, src_field, trg_field, sample_data):
    german, english = sample_data.pairs["train"][0]
    src_ids, trg_ids = sample_data.examples["train"][0]
    from_text = teacher_forcing_trace(model, german, english, 0.5, 2, src_field, trg_field)
    from_ids = teacher_forcing_trace(model, torch.tensor(src_ids).unsqueeze(1), torch.tensor(trg_ids), 0.5, 2)
    assert [r.predicted_id for r in from_text] == [r.predicted_id for r in from_ids]
    assert from_text[0].fed == "<sos>" and from_text[-1].target == "<eos>"
    assert from_ids[0].fed == str(trg_ids[0])  # without a field, ids are shown as numbers


def test_attention_model_traces_too(src_field, trg_field, pair):
    torch.manual_seed(0)
    attention = sensitive(build_model(replace(CONFIG, attention=True), len(src_field.vocab),
                                                len(trg_field.vocab)))
    src_ids, trg_ids = pair
    for ratio, seed in ((0.0, 0), (0.5, 4), (1.0, 0)):
        rows = teacher_forcing_trace(attention, src_ids, trg_ids, ratio, seed)
        assert [row.predicted_id for row in rows] == forward_predictions(attention, src_ids, trg_ids, ratio, seed)


@pytest.mark.parametrize("kwargs, message", [
    ({"ratio": 1.5}, "ratio must be a number in \\[0, 1\\]"),
    ({"ratio": 0.5, "seed": -1}, "seed must be"),
    ({"ratio": 0.5, "trg": [2]}, "at least one more token"),
    ({"ratio": 0.5, "trg": [4, 5, 3]}, "must start with <sos>"),
    ({"ratio": 0.5, "src": "Ein Hund."}, "pass the src_field"),
    ({"ratio": 0.5, "src": torch.zeros(3, 2, dtype=torch.long)}, "must be one sentence"),
    ({"ratio": 0.5, "src": [1.5, 2.0]}, "list of ids"),
])
def test_bad_input_is_named(model, pair, kwargs, message):
    arguments = {"src": pair[0], "trg": pair[1], **kwargs}
    with pytest.raises(ValueError, match=message):
        teacher_forcing_trace(model, **arguments)


def test_not_a_model_is_refused():
    with pytest.raises(TypeError, match="Seq2Seq"):
        teacher_forcing_trace(torch.nn.Linear(2, 2), [2, 3], [2, 3], 0.5)


def test_summary_and_html(model, src_field, trg_field, sample_data):
    german, english = sample_data.pairs["train"][1]
    rows = teacher_forcing_trace(model, german, english, 0.5, 0, src_field, trg_field)
    summary = trace_summary(rows)
    assert summary["steps"] == len(rows) and summary["gold"] + summary["model"] == len(rows) - 1
    assert summary["correct"] == sum(row.predicted_id == row.target_id for row in rows)
    page = format_trace_html(rows, title="A <b> title")
    assert page.count("<tr>") == len(rows) + 1  # header + one per step
    assert "&lt;sos&gt;" in page and "<sos>" not in page  # tokens are escaped, not read as tags
    assert "A &lt;b&gt; title" in page
    assert f"{summary['correct']} of {len(rows)} predictions are right" in page
    assert len(re.findall("model's guess", page)) == summary["model"]


def test_html_needs_rows():
    with pytest.raises(ValueError, match="empty"):
        format_trace_html([])
    with pytest.raises(TypeError, match="TraceRow"):
        trace_summary([("not", "a", "row")])


def test_row_correctness():
    row = TraceRow(1, "start", 2, "<sos>", 4, "a", 4, "a", 0.9)
    assert row.correct and not row._replace(predicted_id=5).correct


def test_ids_outside_the_models_vocabulary_name_the_fields_to_pass(model, pair):
    src_ids, trg_ids = pair
    with pytest.raises(ValueError, match="trg holds ids outside this model's vocabulary.*src_field= and trg_field="):
        teacher_forcing_trace(model, src_ids, [*trg_ids[:-1], 99999], 1.0)

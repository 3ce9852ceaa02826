"""The text-pipeline widget's logic: tokens -> ids -> tokens, and readable notes for bad typing."""
from __future__ import annotations

import re

import pytest

from seq2seq_lib.fields import Field
from seq2seq_lib.widgets.text_pipeline import (
    MAX_CHARS, STEP_KEYS, align_columns, format_steps, pipeline_steps, pipeline_view,
)


@pytest.fixture(scope="module")
def de_field() -> Field:
    field = Field("de")
    field.build_vocab([["ein", "hund", "läuft", "."], ["ein", "mann", "."]], min_freq=1)
    return field


def test_steps_follow_the_field(de_field):
    steps = pipeline_steps("Ein Hund läuft.", de_field)
    assert tuple(steps) == STEP_KEYS
    assert steps["tokens"] == ["Ein", "Hund", "läuft", "."]
    assert steps["preprocessed"] == ["ein", "hund", "läuft", "."]
    assert steps["with_specials"] == ["<sos>", "ein", "hund", "läuft", ".", "<eos>"]
    assert steps["ids"] == de_field.numericalize(de_field.preprocess("Ein Hund läuft."))
    assert steps["back"] == steps["with_specials"]  # every word is known, so the round trip is exact
    assert steps["unknown"] == []


def test_unknown_words_become_unk_not_errors(de_field):
    steps = pipeline_steps("Eine Katze schläft.", de_field)
    assert steps["unknown"] == ["eine", "katze", "schläft"]
    assert steps["ids"][1:4] == [de_field.vocab.unk_index] * 3
    assert steps["back"][1:4] == ["<unk>"] * 3
    assert len(steps["ids"]) == len(steps["with_specials"]) == len(steps["back"])


def test_field_without_markers_has_no_specials_row():
    field = Field("en", init_token=None, eos_token=None)
    field.build_vocab([["a", "dog"]])
    steps = pipeline_steps("A dog.", field)
    assert steps["with_specials"] == steps["preprocessed"] == ["a", "dog", "."]
    assert steps["back"] == ["a", "dog", "<unk>"]


def test_max_len_cuts_preprocessed_tokens():
    field = Field("en", max_len=2)
    field.build_vocab([["a", "dog"]])
    steps = pipeline_steps("A dog runs.", field)
    assert steps["tokens"] == ["A", "dog", "runs", "."]
    assert steps["preprocessed"] == ["a", "dog"]
    assert len(steps["ids"]) == 4


def test_view_shows_every_id_under_its_token(de_field):
    view = pipeline_view("Ein Hund bellt.", de_field)
    lines = view.splitlines()
    token_line = next(line for line in lines if line.startswith("token |"))
    id_line = next(line for line in lines if line.startswith("id    |"))
    token_spans = [m.span() for m in re.finditer(r"\S+", token_line.split("|", 1)[1])]
    id_spans = [m.span() for m in re.finditer(r"\S+", id_line.split("|", 1)[1])]
    ids = pipeline_steps("Ein Hund bellt.", de_field)["ids"]
    assert id_line.split("|", 1)[1].split() == [str(i) for i in ids]
    assert len(token_spans) == len(id_spans) == len(ids)
    column_ends = [start - 2 for start, _ in token_spans[1:]] + [len(token_line)]
    for (token_start, _), (id_start, id_end), column_end in zip(token_spans, id_spans, column_ends):
        assert token_start <= id_start and id_end <= column_end
    assert "'bellt'" in view and "<unk>" in view


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_view_of_empty_box_is_a_prompt(de_field, text):
    assert pipeline_view(text, de_field).startswith("Type a sentence")


def test_view_turns_too_long_text_into_a_note(de_field):
    view = pipeline_view("Hund " * 200, de_field)
    assert view.startswith("Cannot show this sentence") and str(MAX_CHARS) in view
    assert pipeline_view("Ein Hund.", de_field, max_chars=5).startswith("Cannot show")


def test_steps_reject_bad_text(de_field):
    with pytest.raises(ValueError, match="empty"):
        pipeline_steps("  ", de_field)
    with pytest.raises(TypeError, match="string"):
        pipeline_steps(42, de_field)
    with pytest.raises(ValueError, match="characters"):
        pipeline_steps("x" * (MAX_CHARS + 1), de_field)


def test_setup_mistakes_raise_even_in_the_view(de_field):
    with pytest.raises(TypeError, match="Field"):
        pipeline_view("Ein Hund.", "de")
    with pytest.raises(RuntimeError, match="build_vocab"):
        pipeline_view("Ein Hund.", Field("de"))
    with pytest.raises(ValueError, match="max_chars"):
        pipeline_view("Ein Hund.", de_field, max_chars=0)
    with pytest.raises(TypeError):
        pipeline_view(None, de_field)


def test_align_columns_pads_to_the_widest_cell():
    table = align_columns({"token": ["<sos>", "a", "elephant"], "id": [2, 1234, 0]})
    token_line, id_line = table.splitlines()
    assert token_line == "token | <sos>  a     elephant"
    assert id_line == "id    |     2  1234         0"


def test_align_columns_validates():
    with pytest.raises(ValueError, match="same number"):
        align_columns({"token": ["a", "b"], "id": [1]})
    with pytest.raises(ValueError, match="non-empty"):
        align_columns({})
    with pytest.raises(TypeError, match="list of cells"):
        align_columns({"token": "abc"})


def test_format_steps_needs_pipeline_output():
    with pytest.raises(ValueError, match="pipeline_steps"):
        format_steps({"text": "a"})

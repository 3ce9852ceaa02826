"""The BPE merge widget: each slider position shows that merge, the words as segmented after it and
the vocabulary size; HTML is escaped; notebook mistakes raise, typing mistakes become notes."""
import html
import re

import pytest

from seq2seq_lib.bpe import END, apply_bpe, trace_bpe
from seq2seq_lib.data import load_sample
from seq2seq_lib.widgets import merge_view as exported_view
from seq2seq_lib.widgets.bpe_merges import (MAX_WORDS, check_step, merge_summary, merge_view, merge_widget,
                                            segment_words, vocabulary_size, words_of)

PAPER = ["low " * 5, "lower " * 2, "newest " * 6, "widest " * 3]


def pieces_shown(view: str) -> list[str]:
    return re.findall(r'monospace;[^"]*">([^<]*)</span>', view)


@pytest.fixture(scope="module")
def trace():
    return trace_bpe(PAPER, 8)


def test_the_package_exports_the_view():
    assert exported_view is merge_view


def test_step_zero_shows_characters_and_the_alphabet(trace):
    view = merge_view(trace, 0, ["lowest"])
    assert "no merge yet" in view
    assert pieces_shown(view) == ["l", "o", "w", "e", "s", "t", "&lt;/w&gt;"]
    assert vocabulary_size(trace, 0) == (len(trace.alphabet), len(trace.alphabet))


def test_each_position_shows_its_merge_and_count(trace):
    for number, step in enumerate(trace.steps, start=1):
        view = merge_view(trace, number, "lowest newer")
        assert html.escape(merge_summary(trace, number)) in view
        assert f"seen {step.count} times" in view and f"merge {number} of {len(trace.steps)}" in view


def test_words_are_segmented_with_the_merges_so_far(trace):
    for number in range(len(trace.steps) + 1):
        rows = segment_words(trace, number, ["lowest", "newest", "wider"])
        assert rows == [(w, apply_bpe(w, trace.merges[:number])) for w in ("lowest", "newest", "wider")]
        view = merge_view(trace, number, ["newest"])
        assert pieces_shown(view) == [html.escape(p) for p in rows[1][1]]


def test_the_pieces_the_merge_just_made_are_highlighted(trace):
    view = merge_view(trace, 3, ["newest"])  # merge 3 makes est</w>
    assert "background: #fde68a;\">est&lt;/w&gt;</span>" in view
    assert "#fde68a" not in merge_view(trace, 0, ["newest"])


def test_the_vocabulary_grows_by_one_per_merge_and_the_corpus_shrinks(trace):
    lengths = []
    for number in range(len(trace.steps) + 1):
        vocabulary, in_use = vocabulary_size(trace, number)
        assert vocabulary == len(trace.alphabet) + number and 1 <= in_use <= vocabulary
        assert f"vocabulary: {vocabulary} symbols" in merge_view(trace, number)
        lengths.append(trace.steps[number - 1].corpus_length if number else None)
    assert lengths[1:] == sorted(lengths[1:], reverse=True)


def test_text_is_escaped(trace):
    view = merge_view(trace, 2, ["<b>bold</b>"])
    assert "<b>bold</b>" not in view and "&lt;b&gt;bold&lt;/b&gt;" in view
    assert END not in view  # the marker always shows escaped


def test_typed_words_are_split_on_spaces_and_commas():
    assert words_of(" lowest,newer  wider ") == ["lowest", "newer", "wider"]
    assert words_of(["lowest"]) == ["lowest"]


def test_typing_mistakes_become_notes(trace):
    assert "Type some words" in merge_view(trace, 1, "   ")
    many = " ".join(f"w{i}" for i in range(MAX_WORDS + 3))
    view = merge_view(trace, 1, many)
    assert f"first {MAX_WORDS} of {MAX_WORDS + 3} words" in view and f"w{MAX_WORDS}<" not in view


@pytest.mark.parametrize("number", [-1, 9, 1.0, True, None])
def test_a_merge_number_out_of_range_raises(trace, number):
    with pytest.raises(ValueError, match="from 0 .* to 8"):
        check_step(trace, number)


def test_a_wrong_trace_or_word_list_raises(trace):
    with pytest.raises(TypeError, match="trace_bpe"):
        merge_view(["not", "a", "trace"], 0)
    with pytest.raises(TypeError, match="list of single words"):
        merge_view(trace, 0, ["two words"])


def test_the_widget_updates_when_the_slider_or_the_words_change(trace):
    pytest.importorskip("ipywidgets")
    box = merge_widget(trace, ["lowest"], number=2)
    slider, words_box, view = box.children
    assert (slider.min, slider.max, slider.value) == (0, 8, 2)
    assert view.value == merge_view(trace, 2, "lowest")
    slider.value = 5
    assert view.value == merge_view(trace, 5, "lowest")
    words_box.value = "newer wider"
    assert view.value == merge_view(trace, 5, "newer wider")


def test_the_widget_handles_a_real_corpus_quickly():
    trace = trace_bpe([english.lower() for _, english in load_sample()], 100)
    view = merge_view(trace, 100, "skateboarder dogs running")
    assert "merge 100 of 100" in view and view.count(" pieces") == 3

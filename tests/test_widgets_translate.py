"""The translate widget's logic: the output box shows the English translation, bad typing shows a message."""
from __future__ import annotations

import html

import pytest
import torch

from seq2seq_lib.batching import pad_collate
from seq2seq_lib.models import build_model
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.translator import Translation, Translator
from seq2seq_lib.widgets.translate import (
    MAX_CHARS, WAITING_HTML, TranslateView, check_text, format_details, format_message, format_translation,
    translate_view, unknown_words,
)

TINY = ModelConfig(emb_dim=32, hidden_dim=64, n_layers=1, dropout=0.0, rnn_type="gru", attention=True)


@pytest.fixture(scope="module")
def memorised(sample_data):
    """A Translator (attention model) that has memorised a few sample pairs, and those (german, english) pairs."""
    torch.manual_seed(0)
    model = build_model(TINY, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    vocab = sample_data.trg_field.vocab
    chosen = [i for i, (_, trg) in enumerate(sample_data.examples["train"]) if vocab.unk_index not in trg][:4]
    batch = pad_collate([sample_data.examples["train"][i] for i in chosen], sample_data.pad_idx)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    for _ in range(80):
        loss, _ = model.loss(batch.src, batch.trg, 1.0, batch.src_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.set_num_threads(before)
    field = sample_data.trg_field
    pairs = [(sample_data.pairs["train"][i][0],
              field.detokenize(field.preprocess(sample_data.pairs["train"][i][1]))) for i in chosen]
    return Translator(model, sample_data.src_field, sample_data.trg_field), pairs


@pytest.mark.parametrize("beam_size", [1, 3])
def test_output_is_the_english_translation_not_the_german_input(memorised, beam_size):
    translator, pairs = memorised
    for german, english in pairs:
        view = translate_view(translator, german, beam_size=beam_size)
        assert isinstance(view, TranslateView) and view.ok
        assert html.escape(english) in view.translation_html
        assert german not in view.translation_html
        expected_method = "greedy decoding" if beam_size == 1 else f"beam size {beam_size}"
        assert expected_method in view.details_html


def test_view_equals_the_translators_own_output(memorised):
    translator, _ = memorised
    text = "Zwei Hunde spielen im Park."
    for beam_size in (1, 4):
        expected = translator.translate(text, beam_size=beam_size)
        assert html.escape(expected) in translate_view(translator, text, beam_size=beam_size).translation_html


def test_surrounding_whitespace_is_ignored(memorised):
    translator, pairs = memorised
    german, _ = pairs[0]
    assert translate_view(translator, f"  {german}\n").translation_html == \
        translate_view(translator, german).translation_html


@pytest.mark.parametrize("text, message", [
    ("", "Type a German sentence"),
    ("   \n\t", "Type a German sentence"),
    (None, "string"),
    ("Hund " * 100, f"at most {MAX_CHARS}"),
])
def test_bad_typing_gives_a_message_in_the_widget_not_an_exception(memorised, text, message):
    translator, _ = memorised
    view = translate_view(translator, text)
    assert not view.ok and view.details_html == ""
    assert message in html.unescape(view.translation_html)


def test_notebook_mistakes_still_raise(memorised):
    translator, _ = memorised
    with pytest.raises(ValueError, match="beam_size"):
        translate_view(translator, "Ein Hund.", beam_size=0)
    with pytest.raises(TypeError, match="Translator"):
        translate_view(object(), "Ein Hund.")
    with pytest.raises(ValueError, match="max_chars"):
        check_text("Ein Hund.", max_chars=0)


def test_unknown_words_are_listed_and_the_all_unknown_warning_is_shown_not_printed(memorised, recwarn):
    translator, _ = memorised
    assert unknown_words(translator, ["ein", "quxbaz", "quxbaz", "<sos>"]) == ["quxbaz"]
    view = translate_view(translator, "Quxbaz Blorfen")
    assert view.ok
    assert "quxbaz, blorfen" in view.details_html
    assert "every word" in html.unescape(view.details_html)
    assert len(recwarn) == 0  # caught and shown in the widget


def test_html_is_escaped_so_unk_stays_visible():
    result = Translation("a <unk> & a dog.", ["a", "<unk>", "&", "a", "dog", "."], ["<sos>", "<eos>"],
                         -3.0, ended=False, attention=None)
    assert "a &lt;unk&gt; &amp; a dog." in format_translation(result)
    details = format_details(result, 5, ["<b>"], ["note <i>"])
    assert "&lt;b&gt;" in details and "note &lt;i&gt;" in details and "<b>" not in details
    assert "cut at max_len" in details and "per token -3.00" in details
    assert format_message("x < y") == '<span style="color: #b03a2e;">x &lt; y</span>'


def test_empty_translation_is_explained():
    result = Translation("", [], ["<sos>", "<eos>"], -0.1, ended=True, attention=None)
    assert "empty translation" in format_translation(result)


def test_waiting_text_has_no_translation_words():
    assert "Translating" in WAITING_HTML  # the browser test waits until this is gone


def test_unknown_words_wants_tokens_not_text():
    from seq2seq_lib.translator import Translator
    from seq2seq_lib.widgets.translate import unknown_words

    with pytest.raises(TypeError, match="takes the source tokens, not text"):
        unknown_words(Translator.from_pretrained("attention"), "qqq zzz")

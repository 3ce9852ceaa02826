"""Translator: text in, text out; batching, details, checkpoints and every kind of bad input."""
from __future__ import annotations

import warnings

import pytest
import torch

from seq2seq_lib.batching import pad_collate
from seq2seq_lib.checkpoint import CheckpointError, ModelSpec, save_checkpoint
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.translator import Translation, Translator
from tolerance import FP32

TINY = ModelConfig(emb_dim=16, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru")
SENTENCES = ["Ein Hund läuft.", "Zwei Männer spielen Fußball im Park neben einem großen Baum.", "Eine Frau."]


def make_model(sample_data, attention: bool, seed: int = 0, config: ModelConfig = TINY):
    torch.manual_seed(seed)
    sizes = (len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    if attention:
        return build_model(ModelConfig(**{**config.__dict__, "attention": True}), *sizes)
    return build_model(config, *sizes)


@pytest.fixture(params=[False, True], ids=["plain", "attention"])
def translator(request, sample_data):
    return Translator(make_model(sample_data, request.param), sample_data.src_field, sample_data.trg_field)


def test_string_in_string_out_list_in_list_out(translator):
    out = translator.translate(SENTENCES[0], max_len=8)
    assert isinstance(out, str) and out == out.lower()
    many = translator.translate(SENTENCES, max_len=8)
    assert isinstance(many, list) and len(many) == 3 and many[0] == out


def test_batched_translation_equals_one_at_a_time_in_input_order(translator):
    for beam_size in (1, 3):
        together = translator.translate(SENTENCES * 2, beam_size=beam_size, max_len=8, batch_size=4)
        alone = [translator.translate(s, beam_size=beam_size, max_len=8) for s in SENTENCES * 2]
        assert together == alone


def test_details_give_tokens_scores_and_attention(translator):
    result = translator.translate(SENTENCES[1], max_len=6, details=True)
    assert isinstance(result, Translation)
    assert result.source[0] == "<sos>" and result.source[-1] == "<eos>" and "männer" in result.source
    assert len(result.tokens) <= 6 and "<eos>" not in result.tokens and result.score <= 0
    assert translator.trg_field.detokenize(result.tokens) == result.text
    if result.attention is None:
        assert "plain" in repr(translator)
    else:
        assert result.attention.shape == (len(result.output_labels), len(result.source))
        torch.testing.assert_close(result.attention.sum(1), torch.ones(len(result.output_labels)), **FP32)


def test_memorised_pairs_come_back(sample_data):
    """A model trained to memorise a few pairs translates them back word for word (beam search too)."""
    model = make_model(sample_data, True, config=ModelConfig(emb_dim=32, hidden_dim=64, n_layers=1,
                                                             dropout=0.0, rnn_type="gru"))
    vocab = sample_data.trg_field.vocab
    chosen = [i for i, (_, trg) in enumerate(sample_data.examples["train"]) if vocab.unk_index not in trg][:6]
    batch = pad_collate([sample_data.examples["train"][i] for i in chosen], sample_data.pad_idx)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss, _ = model.loss(batch.src, batch.trg, 1.0, batch.src_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    translator = Translator(model, sample_data.src_field, sample_data.trg_field)
    sources = [sample_data.pairs["train"][i][0] for i in chosen]
    expected = [sample_data.trg_field.detokenize(sample_data.trg_field.preprocess(sample_data.pairs["train"][i][1]))
                for i in chosen]
    assert translator.translate(sources) == expected
    assert translator.translate(sources, beam_size=4) == expected


@pytest.mark.parametrize("attention", [False, True])
def test_from_checkpoint_rebuilds_the_same_translator(tmp_path, sample_data, attention):
    model = make_model(sample_data, attention, seed=3)
    config = ModelConfig(**{**TINY.__dict__, "attention": attention})
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=sample_data.spec(config))
    original = Translator(model, sample_data.src_field, sample_data.trg_field)
    restored = Translator.from_checkpoint(path, device="cpu")
    assert restored.translate(SENTENCES, beam_size=2, max_len=8) == original.translate(SENTENCES, beam_size=2, max_len=8)
    assert restored.src_field.vocab == sample_data.src_field.vocab


def test_checkpoint_without_vocabularies_is_refused_with_the_fix(tmp_path, sample_data):
    path = save_checkpoint(tmp_path / "bare.pt", model=make_model(sample_data, False), spec=ModelSpec(TINY))
    with pytest.raises(CheckpointError, match="no vocabularies.*spec=ModelSpec"):
        Translator.from_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        Translator.from_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("text,error,match", [
    ("", ValueError, "empty"),
    ("   \t ", ValueError, "empty"),
    (None, TypeError, "string"),
    (42, TypeError, "string"),
    (["Ein Hund.", ""], ValueError, "Sentence 1.*empty"),
    (["Ein Hund.", 7], TypeError, "Sentence 1"),
    ([], ValueError, "at least one"),
])
def test_bad_text_names_the_problem(translator, text, error, match):
    with pytest.raises(error, match=match):
        translator.translate(text)


@pytest.mark.parametrize("options,match", [
    ({"beam_size": 0}, "beam_size must be an integer >= 1"),
    ({"beam_size": 2.5}, "beam_size"),
    ({"max_len": 0}, "max_len must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_options_name_the_fix(translator, options, match):
    with pytest.raises(ValueError, match=match):
        translator.translate(SENTENCES[0], **options)


def test_all_unknown_words_translate_with_a_warning(translator):
    with pytest.warns(UserWarning, match="every word .* unknown"):
        out = translator.translate("Qwertzuiop Asdfghjkl", max_len=5)
    assert isinstance(out, str)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        translator.translate("Ein Hund läuft.", max_len=5)  # known words: no warning


def test_too_long_text_is_truncated_with_a_warning(sample_data):
    translator = Translator(make_model(sample_data, True), sample_data.src_field, sample_data.trg_field,
                            max_src_len=10)
    with pytest.warns(UserWarning, match="longer than the limit of 10"):
        result = translator.translate(" ".join(["Hund"] * 25), max_len=5, details=True)
    assert len(result.source) == 12 and result.attention.shape[1] == 12


def test_mismatched_vocabulary_or_model_is_refused(sample_data):
    model = build_model(TINY, 50, len(sample_data.trg_field.vocab))
    with pytest.raises(ValueError, match="source vocabulary has .* built for 50"):
        Translator(model, sample_data.src_field, sample_data.trg_field)
    with pytest.raises(TypeError, match="Seq2Seq"):
        Translator(object(), sample_data.src_field, sample_data.trg_field)
    with pytest.raises(ValueError, match="max_src_len"):
        Translator(make_model(sample_data, False), sample_data.src_field, sample_data.trg_field, max_src_len=0)
    with pytest.raises(ValueError, match="precision"):
        Translator(make_model(sample_data, False), sample_data.src_field, sample_data.trg_field, precision="fp8")


@pytest.mark.cpu_bf16
def test_bf16_precision_translates(sample_data):
    """bf16 autocast (fast batched decoding on recent CPUs) gives text of the same form."""
    model = make_model(sample_data, True)
    translator = Translator(model, sample_data.src_field, sample_data.trg_field, precision="bf16")
    result = translator.translate(SENTENCES, beam_size=2, max_len=6, details=True)
    assert translator.precision == "bf16" and all(r.attention.dtype == torch.float32 for r in result)

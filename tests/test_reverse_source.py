"""Source reversal (an option outside the classic recipe): every path that reads German reverses it alike."""
from dataclasses import replace

import pytest

from seq2seq_lib.checkpoint import save_checkpoint
from seq2seq_lib.config import DataConfig, ModelConfig, get_profile
from seq2seq_lib.fields import Field
from seq2seq_lib.models import build_model
from seq2seq_lib.prepare import prepare_data
from seq2seq_lib.translator import Translator


def test_field_reverses_after_lowercasing_and_truncation():
    field = Field("de", max_len=3, reverse=True)
    assert field.preprocess("Ein Hund läuft schnell.") == ["läuft", "hund", "ein"]
    assert Field("de").preprocess("Ein Hund läuft.") == ["ein", "hund", "läuft", "."]


def test_reverse_src_must_be_bool():
    with pytest.raises(ValueError, match="reverse_src"):
        DataConfig(reverse_src="yes")


def test_prepare_reverses_source_only():
    profile = get_profile("ci")
    plain = prepare_data(profile, use_sample=True)
    backwards = prepare_data(replace(profile, data=replace(profile.data, reverse_src=True)), use_sample=True)
    assert plain.src_field.vocab == backwards.src_field.vocab
    for (src, trg), (rsrc, rtrg) in zip(plain.examples["train"][:20], backwards.examples["train"][:20]):
        assert rsrc == [src[0]] + src[1:-1][::-1] + [src[-1]]  # <sos> ... <eos> stay in place
        assert rtrg == trg


def test_translator_from_checkpoint_keeps_the_reversal(tmp_path):
    profile = get_profile("ci")
    data_config = replace(profile.data, reverse_src=True)
    data = prepare_data(replace(profile, data=data_config), use_sample=True)
    config = ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0)
    model = build_model(config, len(data.src_field.vocab), len(data.trg_field.vocab))
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=data.spec(config))
    translator = Translator.from_checkpoint(path)
    assert translator.src_field.reverse and not translator.trg_field.reverse
    assert translator.source_tokens("Ein Hund läuft.") == [".", "läuft", "hund", "ein"]
    assert isinstance(translator.translate("Ein Hund läuft.", max_len=5), str)

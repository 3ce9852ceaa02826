"""Subword fields: the word Field's interface over sentencepiece BPE pieces. Specials at 0..3, text
round-trips, saving restores the same ids, checkpoints and pretrained files rebuild a Translator
that translates, BLEU counts words, and rare words stop being <unk>."""
from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
import torch

from seq2seq_lib.batching import pad_collate
from seq2seq_lib.checkpoint import load_checkpoint, save_checkpoint, vocabs_from_checkpoint
from seq2seq_lib.config import SPECIALS, DataConfig, ModelConfig, get_profile
from seq2seq_lib.data import load_multi30k, load_sample
from seq2seq_lib.fields import Field
from seq2seq_lib.metrics import bleu_token_lists, evaluate_bleu, token_bleu, word_tokens
from seq2seq_lib.models import build_model
from seq2seq_lib.prepare import prepare_data, sample_splits
from seq2seq_lib.subwords import (MODEL_KEY, SubwordField, SubwordVocab, build_subword_fields, field_for_vocab,
                                  train_sentencepiece, unk_rate, vocab_from_dict)
from seq2seq_lib.translator import Translation, Translator
from seq2seq_lib.vocab import Vocab

SIZE = 400
TINY = ModelConfig(emb_dim=32, hidden_dim=64, n_layers=1, dropout=0.0, rnn_type="gru", attention=True)


def normalised(text: str) -> str:
    """What a lowercasing subword field gives back: lowercase, single spaces, no outer spaces."""
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def splits():
    return sample_splits(load_sample())


@pytest.fixture(scope="module")
def joint(splits):
    train = splits["train"]
    return build_subword_fields([de for de, _ in train], [en for _, en in train], SIZE)


@pytest.fixture(scope="module")
def subword_data():
    """The bundled sample prepared with joint subwords (the ci profile otherwise)."""
    profile = get_profile("ci")
    return prepare_data(replace(profile, data=replace(profile.data, subwords=SIZE)), use_sample=True)


@pytest.fixture(scope="module")
def memorised(subword_data):
    """A tiny attention model that has memorised four sample pairs in subword pieces, and those pairs."""
    torch.manual_seed(0)
    model = build_model(TINY, len(subword_data.src_field.vocab), len(subword_data.trg_field.vocab))
    chosen = list(range(4))
    batch = pad_collate([subword_data.examples["train"][i] for i in chosen], subword_data.pad_idx)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        loss, _ = model.loss(batch.src, batch.trg, 1.0, batch.src_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, [subword_data.pairs["train"][i] for i in chosen]


def test_specials_take_ids_0_to_3_like_every_vocabulary(joint, splits):
    for field in joint:
        assert tuple(field.vocab.itos[:4]) == SPECIALS
        assert [field.vocab[t] for t in SPECIALS] == [0, 1, 2, 3]
        assert field.vocab.itos == [field.vocab.processor.id_to_piece(i) for i in range(len(field.vocab))]
    separate = build_subword_fields([de for de, _ in splits["train"]], [en for _, en in splits["train"]], 300,
                                    joint=False)
    assert all(tuple(field.vocab.itos[:4]) == SPECIALS for field in separate)


def test_joint_fields_share_one_model_and_separate_ones_do_not(joint, splits):
    src, trg = joint
    assert src.vocab is trg.vocab and len(src.vocab) <= SIZE
    assert src.preprocess("Berlin") == trg.preprocess("Berlin")  # spelled alike, cut alike
    de, en = build_subword_fields([d for d, _ in splits["train"]], [e for _, e in splits["train"]], 300, joint=False)
    assert de.vocab != en.vocab and (de.lang, en.lang) == ("de", "en")


def test_process_pads_like_a_word_field(joint):
    src, _ = joint
    texts = ["Ein Hund läuft.", "Zwei Männer spielen Fußball im Park."]
    batch, lengths = src.process(texts)
    assert batch.dtype == torch.long and batch.shape == (int(lengths.max()), 2)  # (seq_len, batch)
    for column, text in enumerate(texts):
        ids = src.numericalize(src.preprocess(text))
        assert ids[0] == 2 and ids[-1] == 3 and lengths[column] == len(ids)
        assert batch[: len(ids), column].tolist() == ids and (batch[len(ids):, column] == 1).all()


def test_detokenize_gives_back_the_lowercased_text(joint, splits):
    src, trg = joint
    for field, side in ((src, 0), (trg, 1)):
        texts = [pair[side] for pair in splits["train"][:50]]
        batch, _ = field.process(texts)
        assert [field.detokenize(tokens) for tokens in field.decode_batch(batch)] == [normalised(t) for t in texts]


def test_without_lowercasing_the_case_survives(splits):
    texts = [en for _, en in splits["train"]]
    field = SubwordField("en", lower=False)
    field.learn_pieces(texts, 300)
    assert any(piece != piece.lower() for piece in field.vocab.itos[4:])
    assert field.detokenize(field.preprocess(texts[0])) == " ".join(texts[0].split())


def test_max_len_and_reverse_apply_to_pieces(joint):
    src, _ = joint
    pieces = src.preprocess("Zwei Männer spielen Fußball im Park.")
    cut = SubwordField("de", max_len=3, reverse=True)
    cut.vocab = src.vocab
    assert cut.preprocess("Zwei Männer spielen Fußball im Park.") == pieces[:3][::-1]


def test_to_dict_and_back_gives_identical_ids(joint, splits, tmp_path):
    src, _ = joint
    restored = SubwordField.from_dict(json.loads(json.dumps(src.to_dict())))
    texts = [de for de, _ in splits["val"]]
    assert restored.vocab == src.vocab and restored.vocab.model == src.vocab.model
    assert torch.equal(restored.process(texts)[0], src.process(texts)[0])
    assert SubwordVocab.load(src.vocab.save(tmp_path / "vocab.json")).model == src.vocab.model
    assert isinstance(vocab_from_dict(json.loads((tmp_path / "vocab.json").read_text())), SubwordVocab)
    assert type(vocab_from_dict(Vocab(list(SPECIALS)).to_dict())) is Vocab  # word vocabularies stay words


def test_training_is_deterministic(splits):
    texts = [en for _, en in splits["train"]]
    assert train_sentencepiece(texts, 300).model == train_sentencepiece(texts, 300).model


def test_field_for_vocab_picks_the_kind_of_field(joint):
    assert type(field_for_vocab("de", joint[0].vocab)) is SubwordField
    assert type(field_for_vocab("de", Vocab(list(SPECIALS)))) is Field


def test_prepare_data_builds_subword_fields(subword_data):
    assert isinstance(subword_data.src_field, SubwordField) and isinstance(subword_data.trg_field, SubwordField)
    assert subword_data.src_field.vocab is subword_data.trg_field.vocab
    assert (subword_data.pad_idx, subword_data.sos_idx, subword_data.eos_idx) == (1, 2, 3)
    src_ids, trg_ids = subword_data.examples["train"][0]
    german, english = subword_data.pairs["train"][0]
    assert src_ids == subword_data.src_field.numericalize(subword_data.src_field.preprocess(german))
    assert subword_data.trg_field.detokenize(subword_data.trg_field.decode(trg_ids)) == normalised(english)


def test_a_subword_checkpoint_loads_into_a_translator_that_translates(memorised, subword_data, tmp_path):
    model, pairs = memorised
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=subword_data.spec(TINY))
    checkpoint = load_checkpoint(path)
    assert MODEL_KEY in checkpoint["src_vocab"] and checkpoint["data_config"]["subwords"] == SIZE
    assert all(isinstance(vocab, SubwordVocab) for vocab in vocabs_from_checkpoint(checkpoint))
    translator = Translator.from_checkpoint(path)
    assert isinstance(translator.src_field, SubwordField) and isinstance(translator.trg_field, SubwordField)
    assert translator.trg_field.vocab == subword_data.trg_field.vocab
    assert translator.translate([de for de, _ in pairs]) == [normalised(en) for _, en in pairs]
    result = translator.translate(pairs[0][0], beam_size=3, details=True)
    assert result.text == normalised(pairs[0][1]) and result.text == SubwordField.detokenize(result.tokens)
    assert result.source[1:-1] == subword_data.src_field.preprocess(pairs[0][0])


def test_pretrained_export_carries_the_subword_model(memorised, subword_data, tmp_path):
    from seq2seq_lib.pretrained import export_pretrained, load_pretrained

    model, pairs = memorised
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=subword_data.spec(TINY))
    export_pretrained(path, "tiny_subwords", "a test model", {"command": "test"}, folder=tmp_path / "shipped")
    saved = json.loads((tmp_path / "shipped" / "tiny_subwords" / "vocab.en.json").read_text())
    assert base64.b64decode(saved[MODEL_KEY]) == subword_data.trg_field.vocab.model
    translator = Translator.from_loaded(load_pretrained("tiny_subwords", folder=tmp_path / "shipped"))
    assert isinstance(translator.trg_field, SubwordField)
    assert translator.translate([de for de, _ in pairs]) == [normalised(en) for _, en in pairs]  # fp16 weights


def test_token_bleu_counts_words_for_a_subword_model(memorised, subword_data, joint):
    model, pairs = memorised
    translator = Translator(model, subword_data.src_field, subword_data.trg_field)
    report = evaluate_bleu(translator, pairs)
    assert report.token_bleu == 100.0 and report.sacre.score == 100.0
    hypothesis = "a dog runs through the snow."
    pieces = joint[1].preprocess(hypothesis)
    result = Translation(joint[1].detokenize(pieces), pieces, [], 0.0, True, None)
    hyps, refs = bleu_token_lists(joint[1], [result], ["A dog runs through the snow ."])
    assert hyps == word_tokens([hypothesis]) == [["a", "dog", "runs", "through", "the", "snow", "."]]
    word_field = Field("en")
    word_result = Translation(hypothesis, word_field.preprocess(hypothesis), [], 0.0, True, None)
    assert (hyps, refs) == bleu_token_lists(word_field, [word_result], ["A dog runs through the snow ."])
    assert token_bleu(hyps, refs) == 100.0
    empty = Translation("", [], [], 0.0, True, None)
    assert bleu_token_lists(joint[1], [empty], ["A dog."])[0] == [[]]


def test_unk_rate_of_subwords_is_far_below_words_on_the_sample(joint, splits, sample_data):
    german = [de for de, _ in splits["val"]]
    words, pieces = unk_rate(sample_data.src_field, german), unk_rate(joint[0], german)
    assert 0.0 <= pieces < words / 5
    assert unk_rate(joint[0], german, per="sentence") <= unk_rate(sample_data.src_field, german, per="sentence")
    assert unk_rate(joint[0], ["Ein Hund."]) == 0.0


@pytest.mark.multi30k
def test_unk_rate_of_subwords_is_far_below_words_on_multi30k_validation(multi30k_dir):
    train, val = load_multi30k("train", multi30k_dir, 3000), load_multi30k("val", multi30k_dir)
    src, trg = build_subword_fields([de for de, _ in train], [en for _, en in train], 4000)
    for side, field in ((0, src), (1, trg)):
        word_field = Field(field.lang)
        word_field.build_vocab(word_field.preprocess_many([pair[side] for pair in train]), min_freq=2)
        sentences = [pair[side] for pair in val]
        assert unk_rate(field, sentences) < unk_rate(word_field, sentences) / 20


def test_train_with_subwords_from_the_command_line_and_resume(tmp_path, capsys):
    from seq2seq_lib.__main__ import main

    out = tmp_path / "run"
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out), "--precision", "fp32",
                 "--subwords", "300", "--emb-dim", "16", "--hidden-dim", "24", "--layers", "1"]) == 0
    assert json.loads((out / "run.json").read_text())["subwords"] == 300
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 0  # the same pieces are learned again
    checkpoint = load_checkpoint(out / "last.pt")
    assert checkpoint["epoch"] == 2 and checkpoint["data_config"]["subwords"] == 300
    assert isinstance(Translator.from_checkpoint(out / "best.pt").translate("Ein Hund."), str)


@pytest.mark.parametrize("value", [0, True, "8000", 2.5])
def test_data_config_checks_the_subword_size(value):
    with pytest.raises(ValueError, match="subwords must be None"):
        DataConfig(subwords=value)
    with pytest.raises(ValueError, match="joint_subwords must be True or False"):
        DataConfig(joint_subwords=1)


def test_mistakes_name_the_fix(joint):
    src, _ = joint
    with pytest.raises(ValueError, match="too small.*choose at least"):
        train_sentencepiece(["ein hund läuft."], 8)
    with pytest.raises(TypeError, match="list of sentences"):
        train_sentencepiece("ein hund", 100)
    with pytest.raises(TypeError, match="needs a SubwordVocab"):
        SubwordField("de").vocab = Vocab(list(SPECIALS))
    with pytest.raises(TypeError, match="learn_pieces"):
        SubwordField("de").build_vocab([["ein"]])
    with pytest.raises(RuntimeError, match="no vocabulary yet"):
        SubwordField("de").preprocess("Ein Hund.")
    with pytest.raises(ValueError, match="not a sentencepiece model"):
        SubwordVocab(b"not a model")
    damaged = {**src.vocab.to_dict(), MODEL_KEY: "%%%"}
    with pytest.raises(ValueError, match="not base64"):
        SubwordVocab.from_dict(damaged)
    with pytest.raises(ValueError, match="differ from the pieces"):
        SubwordVocab.from_dict({**src.vocab.to_dict(), "itos": src.vocab.itos[::-1]})
    with pytest.raises(ValueError, match="Not a saved subword field"):
        SubwordField.from_dict({"format": "something else"})
    with pytest.raises(ValueError, match="per must be"):
        unk_rate(src, ["Ein Hund."], per="word")
    with pytest.raises(TypeError, match="list of pieces"):
        SubwordField.detokenize("▁ein")


@pytest.mark.parametrize("model", ["classic", "cho", "attention", "transformer"])
def test_every_model_family_trains_and_translates_on_subwords(model, tmp_path):
    from seq2seq_lib.__main__ import main

    out = tmp_path / model
    sizes = ["--emb-dim", "16", "--hidden-dim", "32", "--layers", "1"] + (["--heads", "2"] if model == "transformer" else [])
    assert main(["train", "--sample", "--profile", "ci", "--epochs", "1", "--out", str(out), "--precision", "fp32",
                 "--model", model, "--subwords", "300", *sizes]) == 0
    translator = Translator.from_checkpoint(out / "best.pt")
    assert isinstance(translator.src_field, SubwordField)
    assert isinstance(translator.translate("Ein Hund läuft im Park.", beam_size=2), str)

"""seq2seq_lib.prepare: one call from pairs to fields, vocabularies, examples and iterators."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
import torch

from seq2seq_lib.config import EOS, PAD, SOS, SPECIALS, UNK, DataConfig, get_profile
from seq2seq_lib.data import load_sample
from seq2seq_lib.prepare import (SPLITS, numericalize_pairs, numericalize_tokens, prepare_data, sample_splits,
                                 tokenize_pairs)


def test_sample_splits_are_disjoint_ordered_and_complete():
    pairs = load_sample()
    splits = sample_splits(pairs)
    assert splits["train"] + splits["val"] + splits["test"] == pairs
    assert len(splits["val"]) == len(splits["test"]) == len(pairs) // 10


def test_sample_splits_of_a_tiny_corpus_leave_something_to_train_on():
    pairs = [(f"Satz {i}.", f"Sentence {i}.") for i in range(5)]
    splits = sample_splits(pairs)
    assert [len(splits[s]) for s in SPLITS] == [3, 1, 1]


def test_prepared_sample_is_labelled_and_consistent(sample_data):
    assert "sample" in sample_data.source and "not Multi30k" in sample_data.source
    assert sample_data.config == get_profile("ci").data
    assert {s: len(sample_data.pairs[s]) for s in SPLITS} == {s: len(sample_data.examples[s]) for s in SPLITS}
    for field in (sample_data.src_field, sample_data.trg_field):
        assert field.vocab.itos[:4] == [UNK, PAD, SOS, EOS]
    assert (sample_data.pad_idx, sample_data.sos_idx, sample_data.eos_idx) == (1, 2, 3)


def test_vocabularies_come_from_train_only(sample_data):
    src_tokens, trg_tokens = tokenize_pairs(sample_data.pairs["train"], sample_data.src_field, sample_data.trg_field)
    for field, tokens in ((sample_data.src_field, src_tokens), (sample_data.trg_field, trg_tokens)):
        counts = Counter(t for sentence in tokens for t in sentence)
        expected = {t for t, c in counts.items() if c >= sample_data.config.min_freq}
        assert set(field.vocab.itos[4:]) == expected


def test_examples_equal_field_numericalize(sample_data):
    src_field, trg_field = sample_data.src_field, sample_data.trg_field
    for split in SPLITS:
        for (german, english), (src, trg) in zip(sample_data.pairs[split], sample_data.examples[split]):
            assert src == src_field.numericalize(src_field.preprocess(german))
            assert trg == trg_field.numericalize(trg_field.preprocess(english))
            assert src[0] == trg[0] == sample_data.sos_idx and src[-1] == trg[-1] == sample_data.eos_idx


def test_numericalize_pairs_is_tokenize_then_numericalize(sample_data):
    pairs = sample_data.pairs["val"]
    fields = sample_data.src_field, sample_data.trg_field
    assert numericalize_pairs(pairs, *fields) == numericalize_tokens(tokenize_pairs(pairs, *fields), *fields)
    assert numericalize_pairs(pairs, *fields) == sample_data.examples["val"]


def test_unseen_words_in_evaluation_splits_become_unk(sample_data):
    unk = sample_data.trg_field.vocab[UNK]
    train_vocab = set(sample_data.trg_field.vocab.itos)
    _, val_tokens = tokenize_pairs(sample_data.pairs["val"], sample_data.src_field, sample_data.trg_field)
    unseen = sum(t not in train_vocab for sentence in val_tokens for t in sentence)
    assert unseen > 0
    assert sum(i == unk for _, trg in sample_data.examples["val"] for i in trg) == unseen


def test_iterators_shuffle_train_but_not_evaluation(sample_data):
    def first_columns(iterator):
        return [tuple(b.trg[:, 0].tolist()) for b in iterator]

    train = sample_data.iterator("train", seed=1)
    assert first_columns(train) != first_columns(train)
    val = sample_data.iterator("val")
    assert first_columns(val) == first_columns(val)
    assert first_columns(sample_data.iterator("train", shuffle=False)) == first_columns(
        sample_data.iterator("train", shuffle=False))


def test_iterator_options(sample_data):
    iterator = sample_data.iterator("train", batch_size=10, device=torch.device("cpu"), num_workers=0)
    assert len(iterator) == -(-len(sample_data.examples["train"]) // 10)
    assert len(sample_data.iterator("train")) == -(-len(sample_data.examples["train"]) // 64)
    assert iterator.pad_idx == sample_data.pad_idx


def test_iterator_unknown_split(sample_data):
    with pytest.raises(ValueError, match="Unknown split 'dev'.*'train'"):
        sample_data.iterator("dev")


def test_profile_object_and_data_config_are_respected():
    profile = replace(get_profile("ci"), data=DataConfig(min_freq=1, lower=False, max_len=6, batch_size=8))
    prepared = prepare_data(profile, use_sample=True)
    assert prepared.config.batch_size == 8
    assert "Ein" in prepared.src_field.vocab and "ein" in prepared.src_field.vocab
    assert max(len(s) for split in SPLITS for s, _ in prepared.examples[split]) <= 6 + 2
    assert len(prepared.src_field.vocab) > len(prepare_data("ci", use_sample=True).src_field.vocab)


def test_unknown_profile_name():
    with pytest.raises(ValueError, match="Unknown profile 'huge'"):
        prepare_data("huge", use_sample=True)


def test_profile_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_PROFILE", "ci")
    assert prepare_data(use_sample=True).config == get_profile("ci").data


def test_missing_multi30k_fails_with_offline_help(monkeypatch, tmp_path):
    import urllib.error

    from seq2seq_lib import data

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    with pytest.raises(data.DataError, match="load_sample"):
        prepare_data("ci", root=tmp_path / "nothing")


# ---------------------------------------------------------------- the real corpus

@pytest.mark.multi30k
def test_full_multi30k_sizes(multi30k_full):
    assert multi30k_full.source == "Multi30k"
    assert {s: len(multi30k_full.pairs[s]) for s in SPLITS} == {"train": 29_000, "val": 1_014, "test": 1_000}
    assert {s: len(multi30k_full.examples[s]) for s in SPLITS} == {"train": 29_000, "val": 1_014, "test": 1_000}
    assert len(multi30k_full.src_field.vocab) == 7_853
    assert len(multi30k_full.trg_field.vocab) == 5_893
    assert multi30k_full.config.batch_size == 128


@pytest.mark.multi30k
def test_ci_profile_is_a_prefix_of_full_multi30k(multi30k_dir, multi30k_full):
    ci = prepare_data("ci", root=multi30k_dir)
    assert {s: len(ci.pairs[s]) for s in SPLITS} == {"train": 2_000, "val": 200, "test": 200}
    for split in SPLITS:
        assert ci.pairs[split] == multi30k_full.pairs[split][: len(ci.pairs[split])]
    assert len(ci.src_field.vocab) < len(multi30k_full.src_field.vocab)
    assert set(ci.trg_field.vocab.itos) <= set(multi30k_full.trg_field.vocab.itos) | set(SPECIALS)


@pytest.mark.multi30k
def test_full_multi30k_decodes_back_to_its_tokens(multi30k_full):
    trg_field = multi30k_full.trg_field
    english = [en for _, en in multi30k_full.pairs["train"][:200]]
    tokens = trg_field.preprocess_many(english)
    decoded = [trg_field.decode(ids) for _, ids in multi30k_full.examples["train"][:200]]
    for original, back in zip(tokens, decoded):
        assert len(back) == len(original)
        assert all(b == o or (b == UNK and o not in trg_field.vocab) for o, b in zip(original, back))


def test_a_batch_size_of_zero_is_refused_not_replaced_by_the_profiles(sample_data):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        sample_data.iterator("train", batch_size=0)


def test_one_pair_where_a_list_of_pairs_belongs_shows_the_list(sample_data):
    from seq2seq_lib.prepare import numericalize_pairs

    with pytest.raises(TypeError, match=r"for one pair pass \[\('Ein Hund.', 'A dog.'\)\]"):
        numericalize_pairs(("Ein Hund.", "A dog."), sample_data.src_field, sample_data.trg_field)

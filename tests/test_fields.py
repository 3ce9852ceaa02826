"""seq2seq_lib.fields: tokenization, bad sentences, <unk> for unseen words, padding and decoding."""
from __future__ import annotations

import pytest
import torch

from seq2seq_lib.config import EOS, PAD, SOS, UNK
from seq2seq_lib.data import load_sample
from seq2seq_lib.fields import Field, check_sentence, spacy_tokenizer
from seq2seq_lib.vocab import Vocab

BAD_SENTENCES = [
    ("", ValueError, "empty"),
    ("   \t\n", ValueError, "empty"),
    (None, TypeError, "string"),
    (42, TypeError, "string"),
    (b"Ein Hund", TypeError, "string"),
    (["Ein", "Hund"], TypeError, "string"),
]


@pytest.fixture()
def tiny_field():
    """English field with a vocabulary of a handful of words (ids 4.. in frequency order)."""
    field = Field("en")
    field.build_vocab([["a", "dog", "runs", "."], ["a", "dog", "."], ["a", "cat"]], min_freq=1)
    return field


# ---------------------------------------------------------------- tokenization

def test_tokenize_uses_spacy_rules_and_keeps_case():
    assert Field("de").tokenize("Ein Hund läuft über die Wiese.") == ["Ein", "Hund", "läuft", "über", "die", "Wiese", "."]
    assert Field("en").tokenize("A dog's ball, isn't it?") == ["A", "dog", "'s", "ball", ",", "is", "n't", "it", "?"]


def test_tokenizer_equals_spacy_blank_tokenizer():
    import spacy

    sentence = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
    assert Field("de").tokenize(sentence) == [t.text for t in spacy.blank("de").tokenizer(sentence)]


def test_spacy_tokenizer_is_cached_per_language():
    assert spacy_tokenizer("de") is spacy_tokenizer("de")
    assert spacy_tokenizer("de") is not spacy_tokenizer("en")


def test_preprocess_lowercases_only_when_asked():
    sentence = "Ein Hund läuft."
    assert Field("de").preprocess(sentence) == ["ein", "hund", "läuft", "."]
    assert Field("de", lower=False).preprocess(sentence) == ["Ein", "Hund", "läuft", "."]


def test_preprocess_many_equals_preprocess_one_by_one():
    field = Field("de")
    sentences = [de for de, _ in load_sample()[:60]]
    assert field.preprocess_many(sentences) == [field.preprocess(s) for s in sentences]


def test_max_len_cuts_tokens_before_sos_and_eos(tiny_field):
    field = Field("en", max_len=3)
    field.vocab = tiny_field.vocab
    tokens = field.preprocess("A dog runs fast today.")
    assert tokens == ["a", "dog", "runs"]
    ids = field.numericalize(tokens)
    assert len(ids) == 3 + 2 and ids[0] == field.vocab[SOS] and ids[-1] == field.vocab[EOS]


@pytest.mark.parametrize("max_len", [0, -1, 2.5, True, "10"])
def test_bad_max_len(max_len):
    with pytest.raises(ValueError, match="max_len must be None or a positive integer"):
        Field("en", max_len=max_len)


def test_unknown_language_says_what_to_use():
    with pytest.raises(ValueError, match="no tokenizer for language 'zz'.*'de' or 'en'"):
        Field("zz")


# ---------------------------------------------------------------- bad sentences

@pytest.mark.parametrize("text, error, words", BAD_SENTENCES)
def test_check_sentence_names_the_problem(text, error, words):
    with pytest.raises(error, match=words):
        check_sentence(text)


@pytest.mark.parametrize("text, error, words", BAD_SENTENCES)
def test_every_entry_point_rejects_bad_sentences(tiny_field, text, error, words):
    for call in (tiny_field.tokenize, tiny_field.preprocess):
        with pytest.raises(error, match=words):
            call(text)
    if not isinstance(text, list):  # a list is a valid batch for these two
        with pytest.raises((error, TypeError)):
            tiny_field.process(["A dog.", text])
        with pytest.raises((error, TypeError)):
            tiny_field.preprocess_many(["A dog.", text])


def test_process_with_nothing_to_pad_fails_clearly(tiny_field):
    with pytest.raises(ValueError, match="empty batch"):
        tiny_field.process([])


def test_type_error_mentions_the_type_given(tiny_field):
    with pytest.raises(TypeError, match="NoneType"):
        tiny_field.preprocess(None)


# ---------------------------------------------------------------- numericalize, unknown words

def test_numericalize_wraps_in_sos_eos(tiny_field):
    vocab = tiny_field.vocab
    assert vocab.itos[:4] == [UNK, PAD, SOS, EOS]
    ids = tiny_field.numericalize(["a", "dog", "runs"])
    assert ids == [vocab[SOS], vocab["a"], vocab["dog"], vocab["runs"], vocab[EOS]]


def test_unknown_words_become_unk_not_key_error(tiny_field):
    ids = tiny_field.numericalize(tiny_field.preprocess("A zebra runs quickly."))
    unk = tiny_field.vocab[UNK]
    assert ids[2] == unk and ids[4] == unk
    assert ids[1] == tiny_field.vocab["a"] and ids[3] == tiny_field.vocab["runs"]
    assert tiny_field.decode(ids) == ["a", UNK, "runs", UNK, "."]


def test_fields_without_sos_or_eos(tiny_field):
    field = Field("en", init_token=None, eos_token=None)
    assert field.specials == (UNK, PAD)
    field.build_vocab([["a", "dog"]], min_freq=1)
    assert field.vocab.itos == [UNK, PAD, "a", "dog"]
    assert field.numericalize(["a", "dog"]) == [2, 3]


def test_numericalize_refuses_a_raw_string(tiny_field):
    with pytest.raises(TypeError, match="preprocess"):
        tiny_field.numericalize("a dog")


def test_using_a_field_before_its_vocabulary_is_built():
    field = Field("en")
    for call, argument in ((field.numericalize, ["a"]), (field.pad, [[1, 2]]), (field.decode, [4]),
                           (field.process, ["A dog."])):
        with pytest.raises(RuntimeError, match="build_vocab"):
            call(argument)
    assert "vocab_size=None" in repr(field)


def test_build_vocab_keeps_the_vocabulary_on_the_field():
    field = Field("en")
    vocab = field.build_vocab([["a", "b"], ["a"]], min_freq=2)
    assert field.vocab is vocab and vocab.itos == [UNK, PAD, SOS, EOS, "a"]
    assert "vocab_size=5" in repr(field)


# ---------------------------------------------------------------- padding

def test_pad_shapes_time_first_and_pads_with_pad_idx(tiny_field):
    pad = tiny_field.vocab[PAD]
    id_lists = [[2, 4, 5, 3], [2, 3], [2, 4, 5, 6, 7, 3]]
    batch, lengths = tiny_field.pad(id_lists)
    assert batch.shape == (6, 3) and batch.dtype == torch.long
    assert lengths.tolist() == [4, 2, 6]
    for column, ids in enumerate(id_lists):
        assert batch[: len(ids), column].tolist() == ids
        assert (batch[len(ids):, column] == pad).all()


def test_pad_empty_batch_fails(tiny_field):
    with pytest.raises(ValueError, match="at least one sequence"):
        tiny_field.pad([])


def test_pad_to_a_device(tiny_field):
    batch, lengths = tiny_field.pad([[2, 3]], device="meta")  # a real device change, no GPU needed
    assert batch.device.type == "meta" and lengths.device.type == "cpu"


def test_process_gives_seq_len_by_batch(src_field):
    sentences = ["Ein Hund.", "Zwei Hunde spielen im Schnee.", "Eine Frau liest ein Buch im Park."]
    batch, lengths = src_field.process(sentences)
    expected = [len(src_field.preprocess(s)) + 2 for s in sentences]
    assert lengths.tolist() == expected
    assert batch.shape == (max(expected), len(sentences))
    assert (batch[0] == src_field.vocab[SOS]).all()
    assert [batch[n - 1, i].item() for i, n in enumerate(expected)] == [src_field.vocab[EOS]] * 3
    single, _ = src_field.process("Ein Hund.")
    assert single.shape == (expected[0], 1) and torch.equal(single[:, 0], batch[: expected[0], 0])


# ---------------------------------------------------------------- decoding

def test_numericalize_decode_round_trip_on_the_sample(full_sample_field):
    field = full_sample_field
    for _, english in load_sample():
        tokens = field.preprocess(english)
        assert field.decode(field.numericalize(tokens)) == tokens


def test_decode_batch_inverts_process(full_sample_field):
    sentences = [en for _, en in load_sample()[::25]]
    batch, _ = full_sample_field.process(sentences)
    assert full_sample_field.decode_batch(batch) == full_sample_field.preprocess_many(sentences)


def test_decode_stops_at_eos_and_drops_sos_and_pad(tiny_field):
    v = tiny_field.vocab
    ids = [v[SOS], v["a"], v[PAD], v["dog"], v[EOS], v["cat"], v["cat"]]
    assert tiny_field.decode(ids) == ["a", "dog"]
    assert tiny_field.decode(torch.tensor(ids)) == ["a", "dog"]
    assert tiny_field.decode([]) == []


def test_decode_an_id_from_another_vocabulary(tiny_field):
    with pytest.raises(IndexError, match="outside this vocabulary"):
        tiny_field.decode([2, 999])


def test_decode_batch_wants_a_2d_tensor(tiny_field):
    with pytest.raises(ValueError, match=r"\(seq_len, batch\)"):
        tiny_field.decode_batch(torch.tensor([2, 4, 3]))


def test_detokenize_reads_naturally():
    assert Field.detokenize(["a", "man", "(", "left", ")", "is", "n't", "here", "!"]) == "a man (left) isn't here!"
    assert Field.detokenize([]) == ""


def test_field_vocab_can_be_swapped_for_a_loaded_one(tmp_path, tiny_field):
    path = tiny_field.vocab.save(tmp_path / "en.json")
    field = Field("en")
    field.vocab = Vocab.load(path)
    sentence = "A dog runs."
    assert field.numericalize(field.preprocess(sentence)) == tiny_field.numericalize(tiny_field.preprocess(sentence))


def test_preprocess_many_refuses_a_single_string():
    with pytest.raises(TypeError, match="list of sentences"):
        Field("en").preprocess_many("Dog")  # would otherwise be tokenized letter by letter


@pytest.mark.parametrize("call, error, match", [
    (lambda f: f.pad([2, 5, 3]), TypeError, "a list of id lists.*for one sentence pass \\[ids\\]"),
    (lambda f: f.pad([["ein", "hund"]]), TypeError, "a list of id lists.*process\\(texts\\)"),
    (lambda f: f.decode(torch.ones(3, 2, dtype=torch.long)), ValueError, "one sentence \\(1-D\\).*decode_batch"),
    (lambda f: f.decode_batch([[2, 5, 3]]), TypeError, "takes a \\(seq_len, batch\\) tensor, got list"),
    (lambda f: f.detokenize("a dog ."), TypeError, "a list of tokens, not the string"),
], ids=["flat ids", "tokens", "2-D decode", "list to decode_batch", "string to detokenize"])
def test_the_shape_mistakes_of_ids_name_the_call_to_make(call, error, match, trg_field):
    with pytest.raises(error, match=match):
        call(trg_field)

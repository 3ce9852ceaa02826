"""seq2seq_lib.vocab: ordering, min_freq/max_size, unknown words, save/load and malformed files."""
from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from seq2seq_lib import files
from seq2seq_lib.config import SPECIALS, UNK
from seq2seq_lib.vocab import FORMAT, Vocab

CORPUS = [
    ["the", "dog", "runs", "."],
    ["the", "cat", "sleeps", "."],
    ["a", "dog", "and", "a", "cat", "."],
    ["the", "bird", "sings"],
]
# counts: . 3, the 3, a 2, cat 2, dog 2, and 1, bird 1, runs 1, sings 1, sleeps 1


def reference_itos(token_lists, min_freq, max_size, specials=SPECIALS):
    """The ordering spelled out the slow, obvious way: filter, group by count, sort each group."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = []
    for count in sorted({c for c in counts.values()}, reverse=True):
        if count >= min_freq:
            kept += sorted(t for t, c in counts.items() if c == count and t not in specials)
    return list(specials) + (kept if max_size is None else kept[:max_size])


# ---------------------------------------------------------------- ordering

def test_specials_first_then_frequency_then_alphabetical():
    vocab = Vocab.build(CORPUS, min_freq=1)
    assert vocab.itos == ["<unk>", "<pad>", "<sos>", "<eos>",
                          ".", "the", "a", "cat", "dog", "and", "bird", "runs", "sings", "sleeps"]
    assert [vocab[s] for s in SPECIALS] == [0, 1, 2, 3]


def test_min_freq_drops_rare_tokens():
    assert Vocab.build(CORPUS, min_freq=2).itos == list(SPECIALS) + [".", "the", "a", "cat", "dog"]
    assert Vocab.build(CORPUS, min_freq=3).itos == list(SPECIALS) + [".", "the"]
    assert Vocab.build(CORPUS, min_freq=4).itos == list(SPECIALS)


def test_max_size_does_not_count_specials():
    assert Vocab.build(CORPUS, max_size=3).itos == list(SPECIALS) + [".", "the", "a"]
    assert len(Vocab.build(CORPUS, max_size=3)) == 3 + len(SPECIALS)
    assert Vocab.build(CORPUS, max_size=0).itos == list(SPECIALS)
    assert Vocab.build(CORPUS, max_size=1000) == Vocab.build(CORPUS)


def test_max_size_applies_after_min_freq():
    assert Vocab.build(CORPUS, min_freq=2, max_size=4).itos == list(SPECIALS) + [".", "the", "a", "cat"]


def test_ties_are_alphabetical_by_code_point():
    vocab = Vocab.build([["b", "a", "B", "ä", "Z", "a", "b", "B", "ä", "Z"]])
    assert vocab.itos[4:] == ["B", "Z", "a", "b", "ä"]


def test_specials_in_the_data_are_not_duplicated():
    vocab = Vocab.build([["<unk>", "dog", "<pad>", "<eos>", "dog"]])
    assert vocab.itos == list(SPECIALS) + ["dog"]


def test_custom_specials_and_their_unknown_token():
    vocab = Vocab.build([["a", "b", "a"]], specials=("[UNK]", "[PAD]"))
    assert vocab.itos == ["[UNK]", "[PAD]", "a", "b"]
    assert vocab["zzz"] == 0 and vocab.unk_token == "[UNK]"


@pytest.mark.parametrize("seed", range(20))
def test_ordering_matches_the_reference_on_random_corpora(seed):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(rng.randint(1, 60))] + ["<unk>"]
    corpus = [[rng.choice(words) for _ in range(rng.randint(0, 12))] for _ in range(rng.randint(1, 40))]
    min_freq, max_size = rng.randint(1, 4), rng.choice([None, 0, 1, 5, 30])
    vocab = Vocab.build(corpus, min_freq=min_freq, max_size=max_size)
    assert vocab.itos == reference_itos(corpus, min_freq, max_size)
    assert all(vocab.stoi[token] == index for index, token in enumerate(vocab.itos))


def test_build_accepts_any_iterable_once():
    assert Vocab.build(iter(CORPUS)) == Vocab.build(CORPUS)
    assert Vocab.build(tuple(tokens) for tokens in CORPUS) == Vocab.build(CORPUS)
    assert Vocab.build([]).itos == list(SPECIALS)


def test_freqs_are_the_training_counts():
    vocab = Vocab.build(CORPUS, min_freq=2)
    assert vocab.freqs["the"] == 3 and vocab.freqs["bird"] == 1 and vocab.freqs["zebra"] == 0


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("min_freq", [0, -1, 1.5, True, "2", None])
def test_bad_min_freq(min_freq):
    with pytest.raises(ValueError, match="min_freq must be an integer >= 1"):
        Vocab.build(CORPUS, min_freq=min_freq)


@pytest.mark.parametrize("max_size", [-1, -100, 2.5, True, "10"])
def test_bad_max_size(max_size):
    with pytest.raises(ValueError, match="max_size must be None or an integer >= 0"):
        Vocab.build(CORPUS, max_size=max_size)


@pytest.mark.parametrize("token_lists", ["a dog runs", ["a dog", "a cat"], b"bytes"])
def test_untokenized_text_is_refused(token_lists):
    with pytest.raises(TypeError, match="tokenize"):
        Vocab.build(token_lists)


def test_constructor_checks_entries():
    with pytest.raises(ValueError, match="unique.*'a'"):
        Vocab(["<unk>", "a", "a"])
    with pytest.raises(TypeError, match="string"):
        Vocab(["<unk>", 3])
    with pytest.raises(ValueError, match="unknown token '<unk>' must be in the vocabulary"):
        Vocab(["a", "b"])


# ---------------------------------------------------------------- lookups

def test_unknown_tokens_map_to_unk_and_never_raise():
    vocab = Vocab.build(CORPUS, min_freq=2)
    assert vocab["zebra"] == vocab[UNK] == 0
    assert vocab["bird"] == 0  # seen once, below min_freq
    assert vocab.lookup_indices(["the", "zebra", "dog"]) == [vocab["the"], 0, vocab["dog"]]
    assert "dog" in vocab and "zebra" not in vocab and 3 not in vocab


def test_lookup_tokens_inverts_lookup_indices_for_known_tokens():
    vocab = Vocab.build(CORPUS)
    tokens = ["a", "dog", "and", "a", "cat", "."]
    assert vocab.lookup_tokens(vocab.lookup_indices(tokens)) == tokens
    assert vocab.lookup_tokens(range(len(vocab))) == vocab.itos


def test_lookup_misuse_has_clear_messages():
    vocab = Vocab.build(CORPUS)
    with pytest.raises(TypeError, match="list of tokens"):
        vocab.lookup_indices("dog")
    with pytest.raises(IndexError, match="Id 14 is outside this vocabulary of 14 entries"):
        vocab.lookup_tokens([0, 14])
    with pytest.raises(IndexError, match="outside"):
        vocab.lookup_tokens([-1])


def test_equality_and_repr():
    assert Vocab.build(CORPUS) == Vocab.build(list(reversed(CORPUS)))
    assert Vocab.build(CORPUS) != Vocab.build(CORPUS, min_freq=2)
    assert Vocab.build(CORPUS) != Vocab.build(CORPUS).itos
    assert repr(Vocab.build(CORPUS)).startswith("Vocab(size=14")


# ---------------------------------------------------------------- save / load

def test_save_load_round_trip(tmp_path):
    vocab = Vocab.build(CORPUS + [["Straße", "größer", "naïve", "日本"]])
    path = vocab.save(tmp_path / "nested" / "dir" / "vocab.json")
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.itos == vocab.itos and loaded.stoi == vocab.stoi
    assert loaded["Straße"] == vocab["Straße"] and loaded["unseen"] == vocab.unk_index
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == FORMAT
    assert sorted(p.name for p in path.parent.iterdir()) == ["vocab.json"], "temporary files left behind"


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "vocab.json"
    Vocab.build(CORPUS).save(path)
    small = Vocab.build(CORPUS, min_freq=3)
    small.save(path)
    assert Vocab.load(path) == small


def test_save_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    original = Vocab.build(CORPUS)
    original.save(path)

    def disk_full(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "fsync", disk_full)  # the new file is written, but cannot reach the disk
    with pytest.raises(OSError, match="disk full"):
        Vocab.build(CORPUS, min_freq=2).save(path)
    monkeypatch.undo()
    assert Vocab.load(path) == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocab.json"]


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No vocabulary file.*Vocab.save"):
        Vocab.load(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError):
        Vocab.load(tmp_path)  # a folder is not a vocabulary file


@pytest.mark.parametrize("content", [b"", b"not json at all", b'{"format": "seq2seq_lib.vocab/1", "itos": [',
                                     b"\xff\xfe\x00garbage"])
def test_load_damaged_file(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not valid JSON.*Rebuild") as info:
        Vocab.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("document", [
    [],
    ["<unk>", "a"],
    {"itos": ["<unk>", "a"]},
    {"format": "seq2seq_lib.vocab/0", "itos": ["<unk>", "a"]},
    {"format": FORMAT},
    {"format": FORMAT, "itos": "<unk> a"},
    {"format": FORMAT, "itos": ["<unk>", 7]},
    {"format": FORMAT, "itos": ["<unk>", "a", "a"]},
    {"format": FORMAT, "itos": ["a", "b"]},
    {"format": FORMAT, "itos": ["<unk>", "a"], "unk_token": "<missing>"},
], ids=["list", "bare-itos", "no-format", "other-format", "no-itos", "itos-string", "non-string",
        "duplicates", "no-unk", "unk-not-in-itos"])
def test_load_wrong_structure(tmp_path, document):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        Vocab.load(path)
    assert str(path) in str(info.value)


def test_from_dict_inverts_to_dict():
    vocab = Vocab.build(CORPUS, min_freq=2)
    assert Vocab.from_dict(vocab.to_dict()) == vocab
    assert Vocab.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab


# ---------------------------------------------------------------- the real corpus

@pytest.mark.multi30k
def test_multi30k_vocabulary_sizes_with_min_freq_2(multi30k_full):
    src_vocab, trg_vocab = multi30k_full.src_field.vocab, multi30k_full.trg_field.vocab
    assert len(src_vocab) == 7_853
    assert len(trg_vocab) == 5_893
    for vocab in (src_vocab, trg_vocab):
        assert vocab.itos[:4] == list(SPECIALS)
        kept = vocab.itos[4:]
        assert all(vocab.freqs[t] >= 2 for t in kept)
        dropped = [t for t, c in vocab.freqs.items() if t not in vocab.stoi]
        assert dropped and all(vocab.freqs[t] < 2 for t in dropped)
        assert [vocab.freqs[t] for t in kept] == sorted((vocab.freqs[t] for t in kept), reverse=True)
        assert len(vocab) <= 10_000 + len(SPECIALS)


@pytest.mark.multi30k
def test_multi30k_most_frequent_tokens(multi30k_full):
    assert multi30k_full.trg_field.vocab.itos[4:8] == ["a", ".", "in", "the"]
    assert multi30k_full.src_field.vocab.itos[4:6] == [".", "ein"]


def test_an_id_where_a_token_belongs_is_refused_not_read_as_unknown():
    vocab = Vocab.build(CORPUS)
    with pytest.raises(TypeError, match=r"vocab\[...\] takes a token.*vocab.itos\[id\]"):
        vocab[5]
    with pytest.raises(TypeError, match="flat list of tokens"):
        vocab.lookup_indices([["a", "dog"]])
    with pytest.raises(TypeError, match="not the string '23'"):
        vocab.lookup_tokens("23")

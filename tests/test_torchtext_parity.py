"""Our Vocab equals torchtext's `build_vocab_from_iterator`, token for token.

torchtext 0.18 loads only with torch 2.3, so these tests run in their own environment:
`bash tools/torchtext_env.sh`. Elsewhere the whole module is skipped.

Two differences are deliberate and not tested for parity: torchtext's `max_tokens` counts the
specials while our `max_size` does not (so `max_tokens = max_size + len(specials)`), and a special
token that occurs in the data still takes up one of torchtext's `max_tokens` slots before it is
dropped, whereas we leave specials out of the ranking altogether.
"""
from __future__ import annotations

import random

import pytest

try:
    torchtext = pytest.importorskip(
        "torchtext", reason="torchtext is not installed; run `bash tools/torchtext_env.sh` for the parity tests")
except OSError as exc:  # installed, but its compiled library does not match this torch
    pytest.skip(f"torchtext does not load with this torch ({exc}); run `bash tools/torchtext_env.sh`",
                allow_module_level=True)

torchtext.disable_torchtext_deprecation_warning()
from torchtext.vocab import build_vocab_from_iterator  # noqa: E402

from seq2seq_lib.config import SPECIALS  # noqa: E402
from seq2seq_lib.data import load_multi30k  # noqa: E402
from seq2seq_lib.fields import Field  # noqa: E402
from seq2seq_lib.vocab import Vocab  # noqa: E402

pytestmark = pytest.mark.torchtext


def torchtext_vocab(token_lists, min_freq=1, max_size=None, specials=SPECIALS):
    """torchtext's vocabulary with our conventions: specials first, `<unk>` as the default index."""
    vocab = build_vocab_from_iterator(token_lists, min_freq=min_freq, specials=list(specials), special_first=True,
                                      max_tokens=None if max_size is None else max_size + len(specials))
    vocab.set_default_index(vocab[specials[0]])
    return vocab


def assert_same(ours: Vocab, theirs) -> None:
    assert ours.itos == theirs.get_itos()
    assert ours.stoi == theirs.get_stoi()
    assert len(ours) == len(theirs)


@pytest.fixture(scope="module")
def multi30k_train_tokens(multi30k_dir):
    """Multi30k train tokenized by our fields: (German token lists, English token lists)."""
    pairs = load_multi30k("train", root=multi30k_dir)
    return (Field("de").preprocess_many([de for de, _ in pairs]),
            Field("en").preprocess_many([en for _, en in pairs]))


# ---------------------------------------------------------------- Multi30k

@pytest.mark.multi30k
@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("min_freq, max_size", [(2, 10_000), (1, None), (2, 1_000), (5, 3_000)])
def test_multi30k_vocab_matches_torchtext(multi30k_train_tokens, lang, min_freq, max_size):
    tokens = multi30k_train_tokens[0 if lang == "de" else 1]
    ours = Vocab.build(tokens, min_freq=min_freq, max_size=max_size)
    assert_same(ours, torchtext_vocab(tokens, min_freq=min_freq, max_size=max_size))
    if (min_freq, max_size) == (2, 10_000):
        assert len(ours) == {"de": 7_853, "en": 5_893}[lang]


@pytest.mark.multi30k
def test_multi30k_lookups_match_torchtext(multi30k_dir, multi30k_train_tokens):
    en_tokens = multi30k_train_tokens[1]
    ours, theirs = Vocab.build(en_tokens, min_freq=2, max_size=10_000), torchtext_vocab(en_tokens, 2, 10_000)
    field = Field("en")
    test_tokens = field.preprocess_many([en for _, en in load_multi30k("test", root=multi30k_dir)])
    unknown = 0
    for tokens in test_tokens:
        ids = ours.lookup_indices(tokens)
        assert ids == theirs.lookup_indices(tokens)
        assert ours.lookup_tokens(ids) == theirs.lookup_tokens(ids)
        unknown += ids.count(ours.unk_index)
    assert unknown > 0, "the test set should contain words unseen in training"


# ---------------------------------------------------------------- small corpora

TIES = [["b", "a", "c"], ["c", "a", "b"], ["d"], ["B", "A", "ä", "Z", "z"], ["e", "e"]]


@pytest.mark.parametrize("min_freq", [1, 2, 3])
@pytest.mark.parametrize("max_size", [None, 1, 2, 5, 100])
def test_ties_min_freq_and_max_size_match(min_freq, max_size):
    assert_same(Vocab.build(TIES, min_freq=min_freq, max_size=max_size),
                torchtext_vocab(TIES, min_freq=min_freq, max_size=max_size))


@pytest.mark.parametrize("seed", range(25))
def test_random_corpora_match(seed):
    rng = random.Random(seed)
    words = [f"{rng.choice('abcxyzäöüABC')}{i}" for i in range(rng.randint(1, 80))]
    corpus = [[rng.choice(words) for _ in range(rng.randint(0, 15))] for _ in range(rng.randint(1, 60))]
    min_freq, max_size = rng.randint(1, 4), rng.choice([None, 1, 3, 10, 50])
    assert_same(Vocab.build(corpus, min_freq=min_freq, max_size=max_size),
                torchtext_vocab(corpus, min_freq=min_freq, max_size=max_size))


def test_empty_corpus_is_only_specials():
    assert_same(Vocab.build([]), torchtext_vocab([]))


def test_specials_in_the_data_without_max_size():
    corpus = [["<unk>", "dog", "<eos>"], ["dog", "cat", "<pad>"]]
    assert_same(Vocab.build(corpus), torchtext_vocab(corpus))


def test_lookups_with_unknown_words_match():
    ours, theirs = Vocab.build(TIES, min_freq=2), torchtext_vocab(TIES, min_freq=2)
    sentences = [["a", "b", "zebra"], ["never", "seen"], [], ["<unk>", "<pad>", "e"], ["ä", "Z"]]
    for tokens in sentences:
        assert ours.lookup_indices(tokens) == theirs.lookup_indices(tokens)
        assert [ours[t] for t in tokens] == [theirs[t] for t in tokens]
        assert [t in ours for t in tokens] == [t in theirs for t in tokens]
    ids = list(range(len(ours)))
    assert ours.lookup_tokens(ids) == theirs.lookup_tokens(ids)


def test_field_numericalize_matches_a_torchtext_pipeline():
    field = Field("en")
    sentences = ["A dog runs across the meadow.", "Two dogs are playing in the snow.", "A zebra dances."]
    tokens = field.preprocess_many(sentences)
    field.build_vocab(tokens[:2], min_freq=1)
    theirs = torchtext_vocab(tokens[:2], min_freq=1)
    for sentence in tokens:
        assert field.numericalize(sentence) == [theirs["<sos>"]] + theirs(sentence) + [theirs["<eos>"]]

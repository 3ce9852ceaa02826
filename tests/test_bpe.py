"""Byte-pair encoding by hand: each merge shortens the corpus, apply_bpe replays the learned
segmentation, ties break the documented way, and bad input fails with the fix."""
import pytest

from seq2seq_lib.bpe import (END, BpeTrace, apply_bpe, best_pair, learn_bpe, merge_pair, pair_counts, split_word,
                             trace_bpe, word_counts)
from seq2seq_lib.data import load_sample

PAPER = ["low " * 5, "lower " * 2, "newest " * 6, "widest " * 3]  # Sennrich et al. (2016), figure 1


@pytest.fixture(scope="module")
def sample_trace() -> BpeTrace:
    """200 merges on the bundled sample's lowercased English side."""
    return trace_bpe([english.lower() for _, english in load_sample()], 200)


def test_the_papers_example_learns_the_papers_merges():
    assert learn_bpe(PAPER, 4) == [("e", "s"), ("es", "t"), ("est", END), ("l", "o")]


def test_every_merge_shortens_the_corpus_by_at_most_its_count(sample_trace):
    counts = sample_trace.word_counts
    length = sum((len(word) + 1) * count for word, count in counts.items())  # characters and </w>
    assert len(sample_trace.steps) == 200
    for step in sample_trace.steps:
        assert 0 < length - step.corpus_length <= step.count
        length = step.corpus_length


def test_the_count_is_how_often_the_pair_occurred_before_the_merge(sample_trace):
    before = {word: split_word(word) for word in sample_trace.word_counts}
    for step in sample_trace.steps[:30]:
        pairs = pair_counts(before, sample_trace.word_counts)
        assert pairs[step.pair] == step.count == max(pairs.values())
        before = step.segmentations


def test_apply_bpe_reproduces_the_learned_segmentation_of_every_training_word(sample_trace):
    merges = sample_trace.merges
    for number in (1, 10, 50, 200):
        step = sample_trace.steps[number - 1]
        for word, symbols in step.segmentations.items():
            assert apply_bpe(word, merges[:number]) == list(symbols)


def test_pieces_spell_the_word_and_end_with_the_marker(sample_trace):
    for word in ("dogs", "skateboarding", "zebra-striped"):
        pieces = apply_bpe(word, sample_trace.merges)
        assert "".join(pieces) == word + END and pieces[-1].endswith(END)
        assert len(pieces) <= len(word) + 1


def test_more_merges_never_lengthen_a_word(sample_trace):
    for word in list(sample_trace.word_counts)[:50] + ["unseenword"]:
        lengths = [len(apply_bpe(word, sample_trace.merges[:n])) for n in range(0, 201, 20)]
        assert lengths == sorted(lengths, reverse=True)


def test_the_symbols_in_use_are_those_of_the_segmentations(sample_trace):
    step = sample_trace.steps[99]
    assert set(step.symbols) == {s for symbols in step.segmentations.values() for s in symbols}
    assert step.symbol == step.pair[0] + step.pair[1]


def test_ties_go_to_the_pair_that_sorts_first():
    pairs = pair_counts({"ab": ("a", "b", END), "cd": ("c", "d", END)}, {"ab": 2, "cd": 2})
    assert best_pair(pairs) == (("a", "b"), 2)
    assert learn_bpe(["cd ab"], 1) == learn_bpe(["ab cd"], 1) == [("a", "b")]  # not the order seen


def test_learning_stops_when_every_word_is_one_symbol():
    trace = trace_bpe(["ab ab a"], 10)
    assert trace.merges == [("a", "b"), ("ab", END), ("a", END)]
    assert all(len(symbols) == 1 for symbols in trace.steps[-1].segmentations.values())


def test_zero_merges_leave_characters():
    assert trace_bpe(["a dog"], 0).steps == ()
    assert apply_bpe("dog", []) == ["d", "o", "g", END]


def test_merge_pair_scans_left_to_right():
    assert merge_pair(("a", "a", "a", "a"), ("a", "a")) == ("aa", "aa")
    assert merge_pair(("a", "b"), ("b", "c")) == ("a", "b")


def test_sentences_and_words_are_both_accepted():
    assert word_counts(["a dog", "a"]) == {"a": 2, "dog": 1}
    assert learn_bpe(["low", "low", "lower"], 2) == learn_bpe(["low low lower"], 2)


@pytest.mark.parametrize("corpus, error, message", [
    ("low lower", TypeError, "list of words or sentences"),
    (["low", 3], TypeError, "must be a string"),
    ([], ValueError, "no words"),
    (["   "], ValueError, "no words"),
])
def test_a_bad_corpus_names_the_fix(corpus, error, message):
    with pytest.raises(error, match=message):
        learn_bpe(corpus, 3)


@pytest.mark.parametrize("n_merges", [-1, 2.5, True, "3"])
def test_a_bad_number_of_merges_names_the_fix(n_merges):
    with pytest.raises(ValueError, match="n_merges must be an integer >= 0"):
        learn_bpe(PAPER, n_merges)


@pytest.mark.parametrize("word", ["", "two words", 7])
def test_apply_bpe_takes_one_word(word):
    with pytest.raises(ValueError, match="one word"):
        apply_bpe(word, [])


@pytest.mark.parametrize("merges", ["es", [("e", "s", "t")], [("e", 1)], None])
def test_apply_bpe_takes_the_merges_learn_bpe_returns(merges):
    with pytest.raises(TypeError, match="learn_bpe"):
        apply_bpe("lowest", merges)


def test_best_pair_of_nothing_says_why():
    with pytest.raises(ValueError, match="single symbol"):
        best_pair(pair_counts({"a": (END,)}, {"a": 1}))


@pytest.mark.parametrize("pair", ["ow", ("o", "w", "x"), ["o", "w"]])
def test_a_pair_that_is_not_two_symbols_is_refused_not_silently_unmerged(pair):
    from seq2seq_lib.bpe import merge_pair

    with pytest.raises(TypeError, match=r"two symbols as a tuple"):
        merge_pair(("l", "o", "w"), pair)

"""The beam-search tree figure: labelled nodes and legend, the best path bold, bad traces rejected."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from seq2seq_lib.diagrams.beam_tree import check_trace, draw_beam_tree  # noqa: E402

TRACE = [
    [(("a",), -0.69, "kept"), (("two",), -0.92, "kept"), (("<eos>",), -2.3, "pruned")],
    [(("two", "dogs"), -1.02, "kept"), (("a", "dog"), -1.61, "kept"), (("a", "cat"), -1.74, "pruned")],
    [(("two", "dogs", "<eos>"), -1.53, "finished"), (("a", "dog", "<eos>"), -1.61, "finished"),
     (("two", "dogs", "run"), -1.94, "kept")],
]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_every_node_is_labelled_with_its_word_and_score():
    fig = draw_beam_tree(TRACE, best=["two", "dogs", "<eos>"], title="toy")
    labels = texts(fig)
    assert "<sos>" in labels
    for step in TRACE:
        for tokens, score, _ in step:
            assert f"{tokens[-1]}\n{score:.2f}" in labels
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["kept beam", "finished (ends in <eos>)", "pruned candidate", "best translation"]
    assert fig.axes[0].get_title() == "toy"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["start", "step 1", "step 2", "step 3"]


def test_best_path_is_bold_and_pruned_nodes_grey():
    fig = draw_beam_tree(TRACE, best="two dogs <eos>".split())
    by_label = {t.get_text(): t for t in fig.axes[0].texts}
    for label in ("two\n-0.92", "dogs\n-1.02", "<eos>\n-1.53"):
        assert by_label[label].get_fontweight() == "bold"
    assert by_label["a\n-0.69"].get_fontweight() == "normal"
    assert matplotlib.colors.to_hex(by_label["cat\n-1.74"].get_color()) == "#9e9e9e"
    widths = sorted({line.get_linewidth() for line in fig.axes[0].lines})
    assert widths == [1.0, 2.6]  # plain edges and the bold best path


def test_without_best_there_is_no_bold_path_and_an_axis_can_be_given():
    fig, ax = plt.subplots()
    assert draw_beam_tree(TRACE, ax=ax) is fig
    assert all(t.get_fontweight() == "normal" for t in ax.texts)
    assert "best translation" not in [t.get_text() for t in ax.get_legend().get_texts()]


def test_scores_may_be_tensors_and_tokens_lists():
    trace = [[(["a"], torch.tensor(-0.5).item(), "kept")], [(["a", "dog"], -1.0, "finished")]]
    steps, best = check_trace(trace, ["a", "dog"])
    assert steps[1][0].tokens == ("a", "dog") and best == ("a", "dog")


@pytest.mark.parametrize("trace, message", [
    ([], "non-empty list"),
    ("a dog", "non-empty list"),
    ([[]], "step 1 must be a non-empty list"),
    ([[("a", -1.0, "kept")]], "tokens must be a list of words"),
    ([[(("a",), -1.0)]], "a node is (tokens, score, status)"),
    ([[(("a", "dog"), -1.0, "kept")]], "holds the 1 words"),
    ([[(("a",), float("nan"), "kept")]], "score must be a total log-probability"),
    ([[(("a",), 0.5, "kept")]], "number <= 0"),
    ([[(("a",), "-1", "kept")]], "score must be"),
    ([[(("a",), -1.0, "alive")]], "status must be one of"),
    ([[(("a",), -1.0, "kept"), (("a",), -2.0, "pruned")]], "same partial translation twice"),
    ([[(("a",), -1.0, "pruned")], [(("a", "dog"), -2.0, "kept")]], "not a kept beam of step 1"),
    ([[(("a",), -1.0, "kept")], [(("two", "dogs"), -2.0, "kept")]], "continues 'two'"),
])
def test_bad_traces_raise_with_a_helpful_message(trace, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        draw_beam_tree(trace)


@pytest.mark.parametrize("best, message", [
    ("two dogs", "list of words"),
    ([], "list of words"),
    ([1, 2], "list of words"),
    (["three"], "no node of step 1"),
])
def test_bad_best_raises(best, message):
    with pytest.raises(ValueError, match=message):
        draw_beam_tree(TRACE, best=best)

"""Figures of the recurrent model: each names its parts, and bad arguments get a clear error."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

from seq2seq_lib.diagrams import recurrent  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def boxes(ax) -> list[FancyBboxPatch]:
    return [patch for patch in ax.patches if isinstance(patch, FancyBboxPatch)]


def test_encoder_decoder_has_a_box_per_step_and_the_words_around_them():
    ax = recurrent.draw_encoder_decoder(["ein", "hund", "rennt"], ["a", "dog", "runs"])
    words = texts(ax)
    assert len(boxes(ax)) == 5 + 4  # <sos> ein hund rennt <eos>; <sos> a dog runs
    assert words.count("LSTM") == 9
    for word in ("ein", "hund", "rennt", "a", "dog", "runs"):
        assert word in words
    assert words.count("<sos>") == 2 and words.count("<eos>") == 2  # read by the encoder; predicted last
    assert "hidden, cell\n(L, B, H)" in words
    assert any("logits (B, V)" in text for text in words) and any("src (S, B)" in text for text in words)


def test_encoder_decoder_feeds_the_previous_word():
    ax = recurrent.draw_encoder_decoder(["x"], ["one", "two"])
    ordered = sorted((text.get_position()[0], text.get_text()) for text in ax.texts
                     if text.get_position()[1] == 0.0)  # the row of words read
    assert [word for _, word in ordered] == ["<sos>", "x", "<eos>", "<sos>", "one", "two"]


def test_encoder_decoder_draws_into_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    assert recurrent.draw_encoder_decoder(ax=axes[1]) is axes[1]
    assert not axes[0].texts and axes[1].texts


@pytest.mark.parametrize("src, trg, error, message", [
    ("ein hund", ["a"], TypeError, ".split()"),
    ([], ["a"], ValueError, "1 to 8 words"),
    (["w"] * 9, ["a"], ValueError, "1 to 8 words"),
    (["ein", ""], ["a"], ValueError, "non-empty string"),
    (["ein"], ["a", 3], ValueError, "non-empty string"),
    (["ein"], None, TypeError, "list of words"),
])
def test_encoder_decoder_rejects_bad_tokens(src, trg, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        recurrent.draw_encoder_decoder(src, trg)


def test_decoder_step_names_every_stage_with_its_shape():
    ax = recurrent.draw_decoder_step("dog")
    words = texts(ax)
    assert len(boxes(ax)) == 5
    assert "input 'dog'\nid (B,)" in words
    for stage in ("embedding\n(1, B, E)", "LSTM step\n(1, B, H)", "fc_out (linear)\nlogits (B, V)",
                  "softmax\np(y_t | y_<t, x)"):
        assert stage in words
    assert any(text.startswith("hidden, cell (L, B, H)") for text in words)
    assert any(text.startswith("new hidden, cell") for text in words)


@pytest.mark.parametrize("token", ["", "  ", 3, None])
def test_decoder_step_rejects_a_bad_token(token):
    with pytest.raises(ValueError, match="non-empty string"):
        recurrent.draw_decoder_step(token)


def test_lstm_cell_has_four_gates_and_the_cell_path():
    ax = recurrent.draw_lstm_cell()
    words = texts(ax)
    assert len(boxes(ax)) == 4
    for gate in ("forget gate\nf = σ(·)", "input gate\ni = σ(·)", "candidate\ng = tanh(·)",
                 "output gate\no = σ(·)"):
        assert gate in words
    assert {"c_(t-1)", "c_t", "h_t", "[h_(t-1), x_t]"} <= set(words)
    assert sorted(text for text in words if text in ("×", "+")) == ["+", "×", "×", "×"]
    assert len([patch for patch in ax.patches if isinstance(patch, Circle)]) == 4


@pytest.mark.parametrize("gate", recurrent.GATES)
def test_lstm_cell_highlights_one_gate(gate):
    ax = recurrent.draw_lstm_cell(highlight=gate)
    colours = {box.get_facecolor() for box in boxes(ax)}
    highlighted = [box for box in boxes(ax) if box.get_facecolor() == matplotlib.colors.to_rgba(
        recurrent.HIGHLIGHT_COLOR)]
    assert len(colours) == 2 and len(highlighted) == 1
    box = highlighted[0]
    inside = [text.get_text() for text in ax.texts if box.contains_point(ax.transData.transform(text.get_position()))]
    assert any(gate in text for text in inside)


def test_lstm_cell_rejects_an_unknown_gate():
    with pytest.raises(ValueError, match="one of"):
        recurrent.draw_lstm_cell(highlight="remember")


@pytest.mark.parametrize("draw", [recurrent.draw_encoder_decoder, recurrent.draw_decoder_step,
                                  recurrent.draw_lstm_cell])
def test_every_figure_rejects_a_non_axes(draw):
    with pytest.raises(TypeError, match="matplotlib Axes"):
        draw(ax="not an axes")


@pytest.mark.parametrize("draw", [recurrent.draw_encoder_decoder, recurrent.draw_decoder_step,
                                  recurrent.draw_lstm_cell])
def test_every_figure_renders(draw, tmp_path):
    ax = draw()
    assert ax.get_title()
    ax.figure.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 0

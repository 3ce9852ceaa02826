"""seq2seq_lib.diagrams.teacher_forcing: the unrolled decoder fed gold tokens or its own predictions."""
import matplotlib
import pytest
from matplotlib.colors import to_hex

from seq2seq_lib.diagrams.teacher_forcing import (EXAMPLE_FORCED, EXAMPLE_FREE, EXAMPLE_TARGET, GOLD_COLOUR, LEGEND,
                                                  OWN_COLOUR, TITLES,
                                                  fed_tokens, teacher_forcing_figure)
from seq2seq_lib.exercises.nb06 import COINS, PREDICTIONS, fed_inputs

matplotlib.use("Agg")


def fed(ax) -> list[tuple[str, str]]:
    """The tokens drawn on a coloured badge (the decoder's inputs), left to right, with the badge's colour."""
    badges = [text for text in ax.texts if text.get_bbox_patch() is not None]
    return [(text.get_text(), to_hex(text.get_bbox_patch().get_facecolor())) for text in
            sorted(badges, key=lambda text: text.get_position()[0])]


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def test_both_rows_are_labelled_and_fed_what_teacher_forcing_and_free_running_feed():
    figure = teacher_forcing_figure()
    forced_ax, free_ax = figure.axes
    assert forced_ax.get_title(loc="left") == TITLES["forced"] and free_ax.get_title(loc="left") == TITLES["free"]
    for ax, predictions in ((forced_ax, EXAMPLE_FORCED), (free_ax, EXAMPLE_FREE)):
        words = texts(ax)
        assert {"fed", "predicts", "reference"} <= set(words)
        assert [f"decoder\nstep {t}" for t in range(1, 5)] == [w for w in words if w.startswith("decoder")]
        assert all(p in words for p in predictions)
    # fed, in order: the gold tokens trg[0..T-2] in the top row; <sos>, then each previous prediction below
    assert fed(forced_ax) == [(token, GOLD_COLOUR) for token in EXAMPLE_TARGET[:-1]]
    assert fed(free_ax) == [("<sos>", GOLD_COLOUR)] + [(token, OWN_COLOUR) for token in EXAMPLE_FREE[:-1]]
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == list(LEGEND)
    matplotlib.pyplot.close(figure)


def test_the_mixed_row_follows_the_coins_as_forward_does():
    figure = teacher_forcing_figure(coins=COINS, mixed=PREDICTIONS)
    assert len(figure.axes) == 3 and figure.axes[2].get_title(loc="left") == TITLES["mixed"]
    assert fed(figure.axes[2]) == [(token, GOLD_COLOUR if gold else OWN_COLOUR)
                                   for token, gold in fed_tokens(EXAMPLE_TARGET, PREDICTIONS, COINS)]
    assert [token for token, _ in fed_tokens(EXAMPLE_TARGET, PREDICTIONS, COINS)] == fed_inputs(
        EXAMPLE_TARGET, PREDICTIONS, COINS)
    matplotlib.pyplot.close(figure)


@pytest.mark.parametrize("kwargs, message", [
    (dict(target="<sos> two"), "list of tokens"),
    (dict(target=["<sos>"]), "at least 2 tokens"),
    (dict(target=["<sos>", ""], forced=["a"], free=["a"]), "non-empty string"),
    (dict(forced=["two", "dogs"]), "one token per decoder step, 4"),
    (dict(free=["two", "dog", "runs", ".", "x"]), "free needs one token per decoder step"),
    (dict(coins=(True, False, True)), "coins and mixed together"),
    (dict(coins=(True, False), mixed=PREDICTIONS), "3 booleans"),
    (dict(coins=(1, 0, 1), mixed=PREDICTIONS), "3 booleans"),
    (dict(coins=COINS, mixed=["a"]), "mixed needs one token per decoder step"),
])
def test_bad_input_is_refused_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        teacher_forcing_figure(**kwargs)

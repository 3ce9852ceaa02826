"""The attention data-flow figure: every part labelled with its shape, sizes read from a model, bad input rejected."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seq2seq_lib.config import ModelConfig  # noqa: E402
from seq2seq_lib.diagrams.attention_flow import draw_attention_flow, sizes_of  # noqa: E402
from seq2seq_lib.models import build_model  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def text(fig) -> str:
    return "\n".join(t.get_text() for t in fig.axes[0].texts)


def test_symbolic_shapes_and_every_part_are_labelled():
    labels = text(draw_attention_flow())
    for part in ("source ids\n(S, B)", "encoder outputs h_j = [fwd_j; bwd_j]\n(S, B, 2H)",
                 "final states, both directions\n(2L, B, H)", "concat [forward; backward]\n(L, B, 2H)",
                 "bridge: tanh(Linear(2H -> H))", "(L, B, H)", "keys W_h h_j + b", "(S, B, A)",
                 "query W_s s[-1]", "scores e_j = v^T tanh(W_s s + W_h h_j + b)\n(S, B)",
                 "masked softmax", "context c = sum_j a_j h_j\n(B, 2H)", "[embedding; context]\n(1, B, E + 2H)",
                 "(B, 3H + E)", "logits over the vocabulary\n(B, V)", "values h_j", "initial state",
                 "new state: the next step's s", "bidirectional GRU"):
        assert part in labels, part
    assert "= (" not in labels  # no sizes given: symbolic only


def test_sizes_give_numbers():
    fig = draw_attention_flow(src_len=13, batch=3, emb_dim=32, hidden_dim=64, vocab_size=1302, n_layers=2,
                              rnn_type="lstm")
    labels = text(fig)
    for shape in ("(S, B) = (13, 3)", "(S, B, 2H) = (13, 3, 128)", "(2L, B, H) = (4, 3, 64)",
                  "(L, B, 2H) = (2, 3, 128)", "(L, B, H) = (2, 3, 64)", "(S, B, A) = (13, 3, 64)",
                  "(B, 2H) = (3, 128)", "(1, B, E + 2H) = (1, 3, 160)", "(B, 3H + E) = (3, 224)",
                  "(B, V) = (3, 1302)", "fc_hidden, fc_cell", "bidirectional LSTM, 2 layer(s)", "(and cell)"):
        assert shape in labels, shape
    assert "S=13" in fig.axes[0].get_title()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["encoder", "bridge", "attention", "decoder"]


def test_sizes_from_a_model_match_its_tensors():
    config = ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, rnn_type="gru", attention=True)
    model = build_model(config, 30, 40)
    sizes = sizes_of(model)
    assert sizes == {"emb_dim": 8, "hidden_dim": 16, "attn_dim": 16, "vocab_size": 40, "n_layers": 1,
                     "rnn_type": "gru"}
    labels = text(draw_attention_flow(model, src_len=5, batch=2))
    assert "(S, B, 2H) = (5, 2, 32)" in labels and "(B, V) = (2, 40)" in labels and "(and cell)" not in labels
    fig, ax = plt.subplots()
    assert draw_attention_flow(model, ax=ax, title="mine") is fig and ax.get_title() == "mine"


@pytest.mark.parametrize("kwargs, message", [
    (dict(src_len=0), "src_len must be a whole number >= 1"),
    (dict(batch=2.5), "batch must be a whole number"),
    (dict(hidden_dim=True), "hidden_dim must be a whole number"),
    (dict(attn_dim=-1), "attn_dim"),
    (dict(n_layers=0), "n_layers"),
    (dict(rnn_type="rnn"), "'gru' or 'lstm'"),
])
def test_bad_sizes_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw_attention_flow(**kwargs)


def test_a_classic_model_or_model_plus_sizes_raise():
    classic = build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1), 30, 40)
    with pytest.raises(ValueError, match="expected an attention model"):
        draw_attention_flow(classic)
    attention = build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, attention=True), 30, 40)
    with pytest.raises(ValueError, match="either a model or its sizes"):
        draw_attention_flow(attention, hidden_dim=16)

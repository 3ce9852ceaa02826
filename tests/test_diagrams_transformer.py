"""The Transformer diagram: every part labelled with its shape, the LayerNorm placement spelled out,
sizes read from a model and checked against the model's own tensors, bad input rejected."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from seq2seq_lib.config import ModelConfig  # noqa: E402
from seq2seq_lib.diagrams.transformer import draw_transformer, sizes_of  # noqa: E402
from seq2seq_lib.models import build_model  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def text(fig) -> str:
    return "\n".join(t.get_text() for t in fig.axes[0].texts)


def test_symbolic_shapes_and_every_part_are_labelled():
    labels = text(draw_transformer())
    for part in ("source ids\n(S, B)", "embedding x sqrt(D) + positions, dropout\n(B, S, D)", "(B, T, D)",
                 "self-attention, h heads, padding mask", "weights (B, h, S, S)", "look-ahead mask (T, T)",
                 "keys and values from the memory", "weights (B, h, T, S)", "feed-forward D -> F -> D, ReLU",
                 "x + SelfAttention(LayerNorm(x))", "x + CrossAttention(LayerNorm(x))",
                 "x + FeedForward(LayerNorm(x))", "final LayerNorm: memory\n(B, S, D)",
                 "final LayerNorm, then fc_out (its weight is the embedding's)\nlogits (T, B, V)",
                 "x L layers", "encoder", "decoder", "memory:\nkeys and values"):
        assert part in labels, part
    assert "= (" not in labels  # no sizes given: symbolic only
    legend = [t.get_text() for t in draw_transformer().axes[0].get_legend().get_texts()]
    assert legend == ["embedding", "attention", "feed-forward", "output"]


def test_post_layernorm_and_untied_weights_change_the_labels():
    labels = text(draw_transformer(pre_norm=False, tied=False))
    assert "LayerNorm(x + SelfAttention(x))" in labels and "LayerNorm(x + FeedForward(x))" in labels
    assert "final LayerNorm" not in labels and "embedding's" not in labels
    assert "post-LayerNorm" in draw_transformer(pre_norm=False).axes[0].get_title()


def test_sizes_give_numbers():
    fig = draw_transformer(src_len=13, trg_len=11, batch=3, d_model=32, ff_dim=64, n_heads=4, n_layers=2,
                           vocab_size=1302)
    labels = text(fig)
    for shape in ("(S, B) = (13, 3)", "(B, S, D) = (3, 13, 32)", "(B, h, S, S) = (3, 4, 13, 13)",
                  "(T, T) = (11, 11)", "(B, h, T, S) = (3, 4, 11, 13)", "(T, B, V) = (11, 3, 1302)",
                  "4 heads of D/h = 8", "x 2 layers"):
        assert shape in labels, shape
    assert "S=13" in fig.axes[0].get_title() and "h=4" in fig.axes[0].get_title()


def test_sizes_from_a_model_match_its_tensors():
    config = ModelConfig(transformer=True, emb_dim=16, hidden_dim=24, n_layers=3, n_heads=2, dropout=0.0,
                         pre_norm=False, tie_embeddings=False)
    model = build_model(config, 30, 40).eval()
    assert sizes_of(model) == {"d_model": 16, "ff_dim": 24, "n_heads": 2, "n_layers": 3, "vocab_size": 40,
                               "pre_norm": False, "tied": False}
    src, trg_in = torch.randint(4, 30, (5, 2)), torch.randint(4, 40, (4, 2))
    with torch.no_grad():
        encoder_maps, cross_maps = model.attention_maps(src, trg_in)
        logits = model.decoder(trg_in, model.encoder(src)[0], src != 1)
    labels = text(draw_transformer(model, src_len=5, trg_len=4, batch=2))
    assert f"(B, h, S, S) = {tuple(encoder_maps[0].shape)}" in labels
    assert f"(B, h, T, S) = {tuple(cross_maps[0].shape)}" in labels
    assert f"(T, B, V) = {tuple(logits.shape)}" in labels
    assert "LayerNorm(x + SelfAttention(x))" in labels and "x 3 layers" in labels
    fig, ax = plt.subplots()
    assert draw_transformer(model, ax=ax, title="mine") is fig and ax.get_title() == "mine"


@pytest.mark.parametrize("kwargs, message", [
    (dict(src_len=0), "src_len must be a whole number >= 1"),
    (dict(batch=2.5), "batch must be a whole number"),
    (dict(d_model=True), "d_model must be a whole number"),
    (dict(n_heads=-1), "n_heads"),
    (dict(d_model=30, n_heads=8), "divisible by n_heads"),
    (dict(pre_norm="yes"), "pre_norm must be True or False"),
])
def test_bad_sizes_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw_transformer(**kwargs)


def test_an_rnn_or_a_model_plus_sizes_raise():
    rnn = build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, attention=True), 30, 40)
    with pytest.raises(ValueError, match="expected a Transformer"):
        draw_transformer(rnn)
    transformer = build_model(ModelConfig(transformer=True, emb_dim=16, hidden_dim=24, n_layers=1, n_heads=2), 30, 40)
    with pytest.raises(ValueError, match="either a model or its sizes"):
        draw_transformer(transformer, d_model=16)

"""Exercises of notebook 11: right answers come from the library's Transformer pieces, typical wrong
answers get the hint that names the slip."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_lib.config import ModelConfig, TrainConfig
from seq2seq_lib.exercises import available
from seq2seq_lib.exercises import nb11
from seq2seq_lib.models import build_model, count_parameters
from seq2seq_lib.models.transformer import MultiHeadAttention, look_ahead_mask, scaled_dot_product_attention
from seq2seq_lib.train import warmup_learning_rate
from exercise_checks import assert_hint, assert_nonsense_gets_a_hint, verdict

NAMES = ["11.attention", "11.look_ahead", "11.head_shapes", "11.smoothing", "11.tying", "11.warmup",
         "11.post_norm"]


def test_every_exercise_is_registered():
    assert set(NAMES) <= set(available())


@pytest.mark.parametrize("name", NAMES)
def test_nonsense_answers_get_a_hint_not_a_crash(name):
    assert_nonsense_gets_a_hint(name)


# ---------------------------------------------------------------- 11.attention


def by_hand(query, key, value, mask):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights @ value, weights


def test_attention_right_answers_include_the_library_and_torch():
    assert verdict("11.attention", by_hand)
    assert verdict("11.attention", scaled_dot_product_attention)
    assert verdict("11.attention", lambda q, k, v, m: [x.tolist() for x in by_hand(q, k, v, m)])

    def torch_kernel(q, k, v, m):
        weights = by_hand(q, k, v, m)[1]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m), weights

    assert verdict("11.attention", torch_kernel)


def test_attention_inputs_cover_padding_and_look_ahead():
    for index, sizes in enumerate(nb11.ATTENTION_SIZES):
        _, _, _, mask = nb11._inputs(sizes, index)
        assert not mask.all()
    assert nb11._inputs(nb11.ATTENTION_SIZES[1], 1)[3].equal(look_ahead_mask(nb11.ATTENTION_SIZES[1][2]))


def _unscaled(q, k, v, m):
    w = torch.softmax((q @ k.transpose(-2, -1)).masked_fill(~m, float("-inf")), -1)
    return w @ v, w


def _by_d(q, k, v, m):
    w = torch.softmax((q @ k.transpose(-2, -1) / q.shape[-1]).masked_fill(~m, float("-inf")), -1)
    return w @ v, w


def _no_mask(q, k, v, m):
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1)
    return w @ v, w


def _inverted(q, k, v, m):
    w = torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(m, float("-inf")), -1)
    return w @ v, w


def _zero_fill(q, k, v, m):
    w = torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~m, 0.0), -1)
    return w @ v, w


def _after(q, k, v, m):
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1) * m
    return w @ v, w


def _wrong_dim(q, k, v, m):
    w = torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~m, float("-inf")), -2)
    return w @ v, w


def _keys_as_values(q, k, v, m):
    return by_hand(q, k, k, m)


def _transposed(q, k, v, m):
    out, w = by_hand(q, k, v, m)
    return out, w.transpose(-2, -1)


def _fixed_size(q, k, v, m):
    return by_hand(q.view(2, 3, 4, 8), k, v, m)


@pytest.mark.parametrize("answer, hint", [
    (_unscaled, "divide Q K^T by sqrt(d)"),
    (_by_d, "divides by d"),
    (_no_mask, "masked positions got weight"),
    (_inverted, "MAY look"),
    (_zero_fill, "exp(0) = 1"),
    (_after, "after the softmax"),
    (_wrong_dim, "dim=-1"),
    (_keys_as_values, "weighted sum of the values"),
    (_transposed, "transposed"),
    (_fixed_size, "no fixed sizes"),
    (lambda q, k, v, m: by_hand(q, k, v, m)[0], "return two things"),
    (by_hand(*nb11.attention_inputs(2, 3, 4, 6, 8, 5)), "the function itself"),
])
def test_attention_wrong_answers(answer, hint):
    assert_hint("11.attention", answer, hint)


# ---------------------------------------------------------------- 11.look_ahead


def test_look_ahead_right_answer_is_the_library_mask():
    assert verdict("11.look_ahead", look_ahead_mask(nb11.LENGTH))
    assert verdict("11.look_ahead", look_ahead_mask(nb11.LENGTH).int().tolist())


@pytest.mark.parametrize("answer, hint", [
    (torch.ones(5, 5, dtype=torch.bool).triu(), "see the future"),
    (~torch.ones(5, 5, dtype=torch.bool).tril(), "must NOT look"),
    (torch.ones(5, 5, dtype=torch.bool).tril(-1), "diagonal is missing"),
    (torch.ones(5, 5, dtype=torch.bool), "masks nothing"),
    (torch.ones(4, 4, dtype=torch.bool).tril(), "5 x 5"),
    (torch.full((5, 5), 2.0), "True/False"),
    (torch.eye(5, dtype=torch.bool), "columns 0..t"),
])
def test_look_ahead_wrong_answers(answer, hint):
    assert_hint("11.look_ahead", answer, hint)


# ---------------------------------------------------------------- 11.head_shapes


def test_head_shapes_right_answer_is_what_the_library_computes():
    attention = MultiHeadAttention(nb11.D_MODEL, nb11.N_HEADS, 0.0)
    x = torch.randn(nb11.BATCH, nb11.TARGET_LEN, nb11.D_MODEL)
    _, weights = attention(x, x)
    answer = (tuple(attention.split_heads(attention.q_proj(x)).shape), tuple(weights.shape))
    assert answer == ((32, 8, 10, 32), (32, 8, 10, 10))
    assert verdict("11.head_shapes", answer)
    assert verdict("11.head_shapes", [list(answer[0]), torch.Size(answer[1])])


@pytest.mark.parametrize("answer, hint", [
    (((32, 10, 8, 32), (32, 8, 10, 10)), "transpose(1, 2)"),
    (((32, 8, 10, 256), (32, 8, 10, 10)), "32 features, not all 256"),
    (((32, 8, 10, 32), (32, 10, 10)), "one (T, T) matrix per head"),
    (((32, 8, 10, 32), (32, 8, 10, 32)), "one score per (query, key) pair"),
    (((32, 8, 32), (32, 8, 10, 9)), "d_model / h"),
    ((32, 8, 10, 32), "two shapes"),
    ((("32", 8, 10, 32), (32, 8, 10, 10)), "whole numbers"),
])
def test_head_shapes_wrong_answers(answer, hint):
    assert_hint("11.head_shapes", answer, hint)


# ---------------------------------------------------------------- 11.smoothing


def test_smoothing_right_answer_is_pytorchs_label_smoothing():
    logits, target = torch.tensor([nb11.SMOOTH_LOGITS]), torch.tensor([nb11.SMOOTH_TARGET])
    loss = nn.CrossEntropyLoss(label_smoothing=nb11.EPSILON)(logits, target)
    assert abs(loss.item() - nb11.smoothed_loss(logits[0], nb11.SMOOTH_TARGET, nb11.EPSILON)) < 1e-6
    assert verdict("11.smoothing", loss)
    assert verdict("11.smoothing", round(loss.item(), 4))


def test_smoothing_wrong_answers():
    logits = torch.tensor(nb11.SMOOTH_LOGITS)
    plain = F.cross_entropy(logits[None], torch.tensor([nb11.SMOOTH_TARGET])).item()
    assert_hint("11.smoothing", plain, "plain cross-entropy")
    assert_hint("11.smoothing", nb11.smoothed_loss(logits, nb11.SMOOTH_TARGET, nb11.EPSILON, True), "V - 1")
    on_logits = -(0.9 * logits[nb11.SMOOTH_TARGET] + 0.1 / 5 * logits.sum()).item()
    assert_hint("11.smoothing", on_logits, "log_softmax")
    log_probs = torch.log_softmax(logits, -1)
    assert_hint("11.smoothing", -(0.9 * log_probs[nb11.SMOOTH_TARGET] + 0.1 * log_probs.sum()).item(), "0.1 / V")
    assert_hint("11.smoothing", 0.5, "target q")


# ---------------------------------------------------------------- 11.tying


def test_tying_right_answer_is_the_difference_of_two_models():
    config = ModelConfig(transformer=True, emb_dim=nb11.TYING_D_MODEL, hidden_dim=64, n_layers=1, n_heads=4)
    tied = count_parameters(build_model(config, 10, nb11.TYING_VOCAB))
    untied = count_parameters(build_model(ModelConfig(**{**config.__dict__, "tie_embeddings": False}), 10,
                                          nb11.TYING_VOCAB))
    assert verdict("11.tying", untied - tied)


@pytest.mark.parametrize("answer, hint", [
    (5_893 * 256 + 5_893, "bias is not shared"),
    (2 * 5_893 * 256, "one of them is saved"),
    (256 * 256, "V x d_model"),
    (5_893, "whole matrix"),
    (1.5e6, "whole number"),
    (12, "(V, d_model)"),
])
def test_tying_wrong_answers(answer, hint):
    assert_hint("11.tying", answer, hint)


# ---------------------------------------------------------------- 11.warmup


def test_warmup_right_answer_is_the_library_schedule():
    rate = warmup_learning_rate(TrainConfig(lr=nb11.PEAK_LR, warmup_steps=nb11.WARMUP), nb11.STEP)
    assert rate == pytest.approx(nb11.warmup_rate(nb11.STEP)) == pytest.approx(2.5e-4)
    assert verdict("11.warmup", rate)
    assert verdict("11.warmup", 2.5e-4)


@pytest.mark.parametrize("answer, hint", [
    (2e-3, "linear rise"),
    (5e-4, "is the peak"),
    (1.25e-4, "square root"),
    (512 ** -0.5 * 16_000 ** -0.5, "Vaswani"),
    (1e-3, "warmup_learning_rate"),
])
def test_warmup_wrong_answers(answer, hint):
    assert_hint("11.warmup", answer, hint)


# ---------------------------------------------------------------- 11.post_norm


def test_post_norm_gradients_grow_towards_the_output_and_pre_norm_ones_do_not():
    post, pre = nb11.decoder_gradient_norms(False), nb11.decoder_gradient_norms(True)
    assert list(post) == sorted(post) and post[-1] / post[0] > 3
    assert 0.5 < pre[-1] / pre[0] < 1.2
    model = nb11.experiment_model(False)
    assert not model.encoder.layers[0].attention_block.pre_norm and len(model.decoder.layers) == nb11.EXPERIMENT_LAYERS


def test_post_norm_right_and_wrong_answers():
    post, pre = nb11.decoder_gradient_norms(False), nb11.decoder_gradient_norms(True)
    assert verdict("11.post_norm", post[-1] / post[0])
    assert verdict("11.post_norm", torch.tensor(post[-1] / post[0]))
    assert_hint("11.post_norm", pre[-1] / pre[0], "pre-LayerNorm model's ratio")
    assert_hint("11.post_norm", post[0] / post[-1], "upside down")
    assert_hint("11.post_norm", pre[0] / pre[-1], "and upside down")
    assert_hint("11.post_norm", 100.0, "norms[-1] / norms[0]")

"""The Transformer: its pieces against PyTorch's, its one-pass forward against the step loop,
and the engine (fused attention, cached decoding) against the textbook."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_lib import fast
from seq2seq_lib.checkpoint import ModelSpec, load_checkpoint, model_from_checkpoint, save_checkpoint
from seq2seq_lib.config import SPECIALS, ModelConfig, TrainConfig
from seq2seq_lib.decode import beam_search, evaluating, greedy_decode
from seq2seq_lib.models import Seq2Seq, build_model
from seq2seq_lib.models.attention import masked_softmax
from seq2seq_lib.models.transformer import (MultiHeadAttention, look_ahead_mask, padding_mask,
                                            scaled_dot_product_attention, sinusoidal_positions)
from seq2seq_lib.train import warmup_learning_rate
from seq2seq_lib.vocab import Vocab
from tolerance import FP32

SRC_V, TRG_V = 30, 25


def tiny(seed: int = 0, dropout: float = 0.0, **changes) -> Seq2Seq:
    torch.manual_seed(seed)
    config = ModelConfig(transformer=True, emb_dim=32, hidden_dim=48, n_layers=2, n_heads=4, dropout=dropout,
                         **changes)
    return build_model(config, SRC_V, TRG_V)


def batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """src (7, 3) and trg (6, 3) with padding at the ends of some sentences."""
    g = torch.Generator().manual_seed(seed)
    src, trg = torch.randint(4, SRC_V, (7, 3), generator=g), torch.randint(4, TRG_V, (6, 3), generator=g)
    src[0], trg[0] = 2, 2
    src[5:, 0], trg[4:, 1] = 1, 1
    return src, trg


def test_attention_equals_torch_kernel_with_masks():
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 8)
    keep = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    keep[0, ..., 4:] = False
    ours, weights = scaled_dot_product_attention(q, k, v, keep)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=keep), **FP32)
    assert weights[0, :, :, 4:].abs().max() == 0  # padding gets exactly zero weight
    causal, _ = scaled_dot_product_attention(q, q, q, look_ahead_mask(5))
    torch.testing.assert_close(causal, F.scaled_dot_product_attention(q, q, q, is_causal=True), **FP32)


def test_multi_head_attention_equals_nn_multiheadattention():
    torch.manual_seed(0)
    ours, theirs = MultiHeadAttention(16, 4, 0.0), nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    out, weights = ours(x, memory)
    expected, expected_weights = theirs(x, memory, memory, average_attn_weights=False)
    torch.testing.assert_close(out, expected, **FP32)
    torch.testing.assert_close(weights, expected_weights, **FP32)


def test_positions_are_distinct_and_bounded():
    table = sinusoidal_positions(50, 32)
    assert table.shape == (50, 32) and table.abs().max() <= 1
    assert torch.cdist(table, table).add(torch.eye(50)).min() > 0.1  # no two positions look alike


@pytest.mark.parametrize("pre_norm", [True, False])
def test_one_pass_forward_equals_the_step_loop(pre_norm):
    model, (src, trg) = tiny(pre_norm=pre_norm).eval(), batch()
    with torch.no_grad():
        torch.testing.assert_close(model(src, trg, 1.0), Seq2Seq.forward(model, src, trg, 1.0), **FP32)


def test_future_tokens_and_source_padding_change_nothing():
    model, (src, trg) = tiny().eval(), batch()
    with torch.no_grad():
        before = model(src, trg, 1.0)
        changed = trg.clone()
        changed[4:] = 7  # later gold tokens: positions 1..4 must not see them
        torch.testing.assert_close(model(src, changed, 1.0)[:5], before[:5], **FP32)
        padded = torch.cat([src, torch.ones(3, 3, dtype=torch.long)])  # three more rows of <pad>
        torch.testing.assert_close(model(padded, trg, 1.0), before, **FP32)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_engine_loss_and_gradients_equal_the_textbook(smoothing):
    model, (src, trg) = tiny(), batch()
    criterion = nn.CrossEntropyLoss(ignore_index=1, label_smoothing=smoothing)
    textbook, n = model.loss(src, trg, 1.0, criterion=criterion)
    textbook_grads = torch.autograd.grad(textbook, list(model.parameters()))
    engine, n_engine = fast.loss(model, src, trg, 1.0, criterion=criterion)
    engine_grads = torch.autograd.grad(engine, list(model.parameters()))
    assert n == n_engine == int((trg[1:] != 1).sum())
    torch.testing.assert_close(engine, textbook, **FP32)
    for ours, theirs in zip(engine_grads, textbook_grads):
        torch.testing.assert_close(ours, theirs, **FP32)


def test_cached_decoding_equals_textbook_greedy_and_beam():
    model, (src, _) = tiny(seed=3), batch()
    for decode, options in ((greedy_decode, {}), (beam_search, {"beam_size": 3})):
        engine = decode(model, src, max_len=9, fast=True, **options)
        textbook = decode(model, src, max_len=9, fast=False, **options)
        assert engine.tokens == textbook.tokens
        torch.testing.assert_close(torch.tensor(engine.scores), torch.tensor(textbook.scores), **FP32)
        for ours, theirs in zip(engine.attention, textbook.attention):
            torch.testing.assert_close(ours, theirs, **FP32)


def test_cached_step_refuses_training_mode_and_a_used_state():
    model, (src, _) = tiny(), batch()
    state = model.encode(src)
    with pytest.raises(ValueError, match="eval mode"):
        fast.decoder_step(model, src[0], state)
    with evaluating(model, fast=False):
        _, used, _ = model.decoder.step(torch.full((3,), 2), state)
        with pytest.raises(ValueError, match="fresh state"):
            fast.decoder_step(model, torch.full((3,), 2), used)


def test_weights_are_tied_and_survive_a_checkpoint(tmp_path):
    model = tiny()
    assert model.decoder.fc_out.weight is model.decoder.embedding.weight
    assert tiny(tie_embeddings=False).decoder.fc_out.weight is not tiny().decoder.embedding.weight
    vocab = lambda n: Vocab(list(SPECIALS) + [f"w{i}" for i in range(n - 4)])  # noqa: E731
    spec = ModelSpec(ModelConfig(transformer=True, emb_dim=32, hidden_dim=48, n_layers=2, n_heads=4, dropout=0.0),
                     vocab(SRC_V), vocab(TRG_V))
    loaded = model_from_checkpoint(load_checkpoint(save_checkpoint(tmp_path / "t.pt", model=model, spec=spec)))
    assert loaded.decoder.fc_out.weight is loaded.decoder.embedding.weight
    src, trg = batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(src, trg, 1.0), model.eval()(src, trg, 1.0), rtol=0, atol=0)


def test_learns_to_copy_in_seconds():
    model = tiny(seed=5)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(400):
        words = torch.randint(4, TRG_V, (5, 64), generator=g)
        src = trg = torch.cat([torch.full((1, 64), 2), words, torch.full((1, 64), 3)])
        loss, _ = fast.loss(model, src, trg, 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1
    decoded = greedy_decode(model, src, max_len=8)
    assert decoded.tokens[0] == trg[1:, 0].tolist()


def test_heads_must_divide_the_width_and_families_are_exclusive():
    with pytest.raises(ValueError, match="divisible by n_heads"):
        ModelConfig(transformer=True, emb_dim=30, n_heads=8)
    with pytest.raises(ValueError, match="at most one"):
        ModelConfig(transformer=True, attention=True)


def test_warmup_schedule_rises_then_falls_and_checks_its_input():
    config = TrainConfig(lr=2e-3, warmup_steps=10)
    rates = [warmup_learning_rate(config, step) for step in range(1, 41)]
    assert max(rates) == rates[9] == 2e-3
    assert rates[:10] == sorted(rates[:10]) and rates[9:] == sorted(rates[9:], reverse=True)
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_learning_rate(TrainConfig(), 1)
    with pytest.raises(ValueError, match="1-based"):
        warmup_learning_rate(config, 0)


def test_translator_widgets_and_by_length_run_a_transformer_unchanged(sample_data):
    from seq2seq_lib.by_length import scores_by_length
    from seq2seq_lib.translator import Translator
    from seq2seq_lib.widgets.attention_explorer import explorer_view
    from seq2seq_lib.widgets.teacher_forcing import teacher_forcing_trace
    from seq2seq_lib.widgets.translate import translate_view

    torch.manual_seed(0)
    config = ModelConfig(transformer=True, emb_dim=16, hidden_dim=32, n_layers=1, n_heads=2, dropout=0.0)
    model = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    translator = Translator(model, sample_data.src_field, sample_data.trg_field)
    pairs = sample_data.pairs["test"][:4]
    translation = translator.translate(pairs[0][0], beam_size=3, details=True)
    assert translation.attention.shape == (len(translation.output_labels), len(translation.source))
    assert translate_view(translator, pairs[0][0], beam_size=2).ok
    alignment, text = explorer_view(translator, pairs, 1)
    assert text and alignment.weights.shape[1] == len(alignment.source)
    rows = teacher_forcing_trace(model, pairs[0][0], pairs[0][1], 0.5, src_field=sample_data.src_field,
                                 trg_field=sample_data.trg_field)
    assert len(rows) == len(sample_data.trg_field.preprocess(pairs[0][1])) + 1  # words and <eos> after <sos>
    assert sum(group.sentences for group in scores_by_length(translator, pairs, groups=((1, 100),))) == 4


@pytest.mark.parametrize("call, error, match", [
    (lambda: look_ahead_mask(-1), ValueError, "size must be a positive integer"),
    (lambda: look_ahead_mask(2.0), ValueError, "size must be a positive integer"),
    (lambda: sinusoidal_positions(4, 0), ValueError, "d_model must be a positive integer"),
    (lambda: MultiHeadAttention(8, 0, 0.1), ValueError, "n_heads must be a positive integer"),
    (lambda: scaled_dot_product_attention(torch.ones(1, 2, 4), torch.ones(1, 3, 4), torch.ones(1, 3, 4),
                                          torch.ones(1, 2, 3, dtype=torch.long)), TypeError, "must hold booleans"),
    (lambda: padding_mask(torch.tensor([True, False])), ValueError, r"\(seq_len, batch\) boolean tensor"),
    (lambda: masked_softmax(torch.ones(3), torch.tensor([1, 1, 0])), TypeError, "must hold booleans"),
], ids=["negative size", "float size", "zero width", "zero heads", "integer mask", "1-D keep", "integer mask (RNN)"])
def test_the_pieces_refuse_sizes_and_masks_of_the_wrong_kind(call, error, match):
    with pytest.raises(error, match=match):
        call()

"""Bahdanau attention model: masking, shapes, padding invariance, decoder protocol, overfitting."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from seq2seq_lib.models.attention import (AdditiveAttention, AttentionDecoder, BiEncoder,
                                   masked_softmax)
from seq2seq_lib.models import build_model
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.decode import greedy_decode
from tolerance import FP32, FP32_DEEP

PAD, SOS, EOS = 1, 2, 3
SMALL = ModelConfig(emb_dim=16, hidden_dim=24, n_layers=2, dropout=0.0, rnn_type="gru", attention=True)


def small_model(rnn_type: str = "gru", seed: int = 0, src_vocab: int = 20, trg_vocab: int = 15):
    torch.manual_seed(seed)
    return build_model(replace(SMALL, rnn_type=rnn_type), src_vocab, trg_vocab, PAD, SOS)


def padded(seqs: list[list[int]], extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns of ids padded with PAD to the longest (+ extra rows) -> (S, B), lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs])
    out = torch.full((int(lengths.max()) + extra, len(seqs)), PAD, dtype=torch.long)
    for column, seq in enumerate(seqs):
        out[: len(seq), column] = torch.tensor(seq)
    return out, lengths


SRC, SRC_LENGTHS = padded([[SOS, 5, 6, 7, 8, EOS], [SOS, 9, EOS], [SOS, 4, 4, 10, EOS]])
TRG, _ = padded([[SOS, 5, 6, 7, EOS], [SOS, 8, 9, 10, 11, EOS], [SOS, 4, EOS]])


def test_masked_softmax_gives_padding_exactly_zero_and_sums_to_one():
    scores = torch.randn(6, 3)
    mask = SRC != PAD
    weights = masked_softmax(scores, mask, dim=0)
    assert torch.all(weights[~mask] == 0)
    torch.testing.assert_close(weights.sum(0), torch.ones(3), **FP32)
    with pytest.raises(ValueError, match="same shape"):
        masked_softmax(scores, mask[:2])


def test_additive_attention_equals_v_tanh_w_of_concatenation():
    torch.manual_seed(0)
    attention = AdditiveAttention(hidden_dim=5, enc_dim=8, attn_dim=7)
    query, enc = torch.randn(3, 5), torch.randn(4, 3, 8)  # (B, H), (S, B, 2H)
    mask = torch.ones(4, 3, dtype=torch.bool)
    w = torch.cat([attention.query_proj.weight, attention.key_proj.weight], dim=1)  # W over [s; h]
    concat = torch.cat([query.unsqueeze(0).expand(4, 3, 5), enc], dim=-1)  # (S, B, H + 2H)
    energy = attention.v(torch.tanh(concat @ w.t() + attention.key_proj.bias)).squeeze(-1)  # (S, B)
    torch.testing.assert_close(attention(query, attention.keys(enc), mask), torch.softmax(energy, 0), **FP32)


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_shapes_and_weights(rnn_type):
    model = small_model(rnn_type).eval()
    outputs, hidden, cell = model.encoder(SRC, SRC_LENGTHS)
    assert outputs.shape == (6, 3, 2 * 24) and hidden.shape == (2, 3, 24)
    assert (cell is None) == (rnn_type == "gru") and (cell is None or cell.shape == (2, 3, 24))
    assert model(SRC, TRG, 1.0, SRC_LENGTHS).shape == (6, 3, 15)
    state = model.encode(SRC, SRC_LENGTHS)
    logits, state, weights = model.decoder.step(torch.full((3,), SOS), state)
    assert logits.shape == (3, 15) and weights.shape == (3, 6)
    assert torch.all(weights.t()[SRC == PAD] == 0)
    torch.testing.assert_close(weights.sum(1), torch.ones(3), **FP32)


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_padding_does_not_change_the_loss(rnn_type):
    model = small_model(rnn_type).eval()
    criterion = nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum")
    with torch.no_grad():
        batch, n = model.loss(SRC, TRG, 1.0, SRC_LENGTHS, criterion)
        more_src, _ = padded([[SOS, 5, 6, 7, 8, EOS], [SOS, 9, EOS], [SOS, 4, 4, 10, EOS]], extra=4)
        more_trg, _ = padded([[SOS, 5, 6, 7, EOS], [SOS, 8, 9, 10, 11, EOS], [SOS, 4, EOS]], extra=3)
        more, m = model.loss(more_src, more_trg, 1.0, SRC_LENGTHS, criterion)
        alone = sum(model.loss(SRC[: int(length), i:i + 1], TRG[:, i:i + 1], 1.0, SRC_LENGTHS[i:i + 1],
                               criterion)[0] for i, length in enumerate(SRC_LENGTHS))
    assert n == m == 11
    torch.testing.assert_close(batch, more, **FP32_DEEP)
    torch.testing.assert_close(batch, alone, rtol=1e-4, atol=1e-4)  # a sum of three separately rounded losses


def test_teacher_forced_forward_equals_step_by_step():
    model = small_model("lstm").eval()
    with torch.no_grad():
        logits = model(SRC, TRG, 1.0, SRC_LENGTHS)[1:]  # (T-1, B, V)
        state, steps = model.encode(SRC, SRC_LENGTHS), []
        for token in TRG[:-1]:
            step_logits, state, _ = model.decoder(token, state)
            steps.append(step_logits)
    torch.testing.assert_close(logits, torch.stack(steps), **FP32_DEEP)


def test_encoder_projection_is_computed_once_per_batch(monkeypatch):
    model = small_model().eval()
    calls = []
    original = model.decoder.attention.keys
    monkeypatch.setattr(model.decoder.attention, "keys", lambda enc: calls.append(1) or original(enc))
    with torch.no_grad():
        model(SRC, TRG, 1.0, SRC_LENGTHS)
    assert len(calls) == 1


def test_builder_validates_and_initialises():
    assert not isinstance(build_model(replace(SMALL, attention=False), 20, 15).decoder, AttentionDecoder)
    with pytest.raises(ValueError, match="len\\(vocab\\)"):
        build_model(SMALL, 2, 15)
    with pytest.raises(ValueError, match="ModelConfig"):
        build_model({"hidden_dim": 8}, 20, 15)
    model = small_model()
    assert isinstance(model.encoder, BiEncoder) and isinstance(model.decoder, AttentionDecoder)
    assert max(float(p.detach().abs().max()) for p in model.parameters()) <= 0.08


def test_all_padding_column_is_refused():
    model = small_model().eval()
    src = torch.full((3, 2), PAD)
    src[:, 0] = torch.tensor([SOS, 5, EOS])
    with pytest.raises(ValueError, match="all padding"):
        model.encode(src)


def reverse_task(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n random sentences of tokens 4..11 (length 3..6) and their reversals, padded."""
    gen = torch.Generator().manual_seed(seed)
    seqs = [torch.randint(4, 12, (int(torch.randint(3, 7, (1,), generator=gen)),), generator=gen).tolist()
            for _ in range(n)]
    src, lengths = padded([[SOS] + s + [EOS] for s in seqs])
    trg, _ = padded([[SOS] + s[::-1] + [EOS] for s in seqs])
    return src, lengths, trg


def test_reverse_task_overfits_in_seconds():
    torch.manual_seed(0)
    config = ModelConfig(emb_dim=32, hidden_dim=32, n_layers=1, dropout=0.0, rnn_type="gru", attention=True)
    model = build_model(config, 12, 12, PAD, SOS)
    src, lengths, trg = reverse_task(64, seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        loss, _ = model.loss(src, trg, 1.0, lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.05
    decoded = greedy_decode(model, src, lengths, max_len=10, sos_idx=SOS, eos_idx=EOS)
    expected = [[t for t in column if t not in (SOS, PAD)] for column in trg.t().tolist()]
    assert sum(d == e for d, e in zip(decoded.tokens, expected)) >= 62


def test_fit_trains_one_epoch_and_the_checkpoint_rebuilds_the_model(tmp_path):
    from seq2seq_lib.batching import BucketIterator
    from seq2seq_lib.checkpoint import ModelSpec, load_checkpoint, model_from_checkpoint
    from seq2seq_lib.config import SPECIALS, TrainConfig
    from seq2seq_lib.train import fit
    from seq2seq_lib.vocab import Vocab

    src, _, trg = reverse_task(32, seed=2)
    examples = [([t for t in s if t != PAD], [t for t in g if t != PAD])
                for s, g in zip(src.t().tolist(), trg.t().tolist())]
    batches = BucketIterator(examples, batch_size=8, pad_idx=PAD, seed=0)
    vocab = Vocab(list(SPECIALS) + [f"w{i}" for i in range(4, 12)])
    config = replace(SMALL, n_layers=1)
    model = build_model(config, 12, 12, PAD, SOS)
    before = [p.detach().clone() for p in model.parameters()]
    history = fit(model, batches, batches, spec=ModelSpec(config, vocab, vocab),
                  train_config=TrainConfig(epochs=1, precision="fp32"), device="cpu", out_dir=tmp_path, progress=False)
    assert len(history.train_loss) == 1 and math.isfinite(history.val_loss[0])
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    rebuilt = model_from_checkpoint(load_checkpoint(tmp_path / "best.pt")).eval()
    model.eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(src, trg, 1.0), model(src, trg, 1.0))

"""The engine computes what the textbook computes: same losses, gradients, coins and decoder steps."""
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_lib import fast
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.fast.dropout import fast_dropout
from seq2seq_lib.fast.fused_loss import linear_cross_entropy
from seq2seq_lib.models import build_model
from tolerance import FP32, FP32_DEEP

PAD, SOS, EOS = 1, 2, 3
SRC_VOCAB, TRG_VOCAB = 31, 37
FAMILIES = {
    "classic lstm": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=2, dropout=0.0),
    "classic gru": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=2, dropout=0.0, rnn_type="gru"),
    "attention gru": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru",
                                 attention=True),
    "attention lstm": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=2, dropout=0.0, attention=True),
    "context gru": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru",
                               feed_context=True),
    "context lstm": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=2, dropout=0.0, feed_context=True),
}


def padded_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """src (S, B), trg (T, B) with <sos>/<eos> and padding, and the source lengths (B,)."""
    generator = torch.Generator().manual_seed(seed)
    src_lengths, trg_lengths = torch.tensor([7, 4, 6, 3]), torch.tensor([9, 5, 9, 4])
    src = torch.full((7, 4), PAD)
    trg = torch.full((9, 4), PAD)
    for column, (s, t) in enumerate(zip(src_lengths, trg_lengths)):
        src[:s, column] = torch.randint(4, SRC_VOCAB, (int(s),), generator=generator)
        src[0, column], src[s - 1, column] = SOS, EOS
        trg[:t, column] = torch.randint(4, TRG_VOCAB, (int(t),), generator=generator)
        trg[0, column], trg[t - 1, column] = SOS, EOS
    return src, trg, src_lengths


def loss_and_grads(compute, model: nn.Module, ratio: float, seed: int) -> tuple[torch.Tensor, int, list]:
    model.zero_grad(set_to_none=True)
    src, trg, lengths = padded_batch()
    torch.manual_seed(seed)  # the same coins for both
    loss, n_tokens = compute(model, src, trg, ratio, lengths)
    loss.backward()
    return loss.detach(), n_tokens, [p.grad.clone() for p in model.parameters()]


def textbook(model, src, trg, ratio, lengths):
    return model.loss(src, trg, ratio, lengths)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("ratio, seed", [(0.0, 0), (1.0, 0), (0.5, 1), (0.5, 2)])
def test_engine_loss_and_gradients_equal_the_textbook(family, ratio, seed):
    torch.manual_seed(0)
    model = build_model(FAMILIES[family], SRC_VOCAB, TRG_VOCAB, PAD, SOS)
    want_loss, want_tokens, want_grads = loss_and_grads(textbook, model, ratio, seed)
    got_loss, got_tokens, got_grads = loss_and_grads(fast.loss, model, ratio, seed)
    assert got_tokens == want_tokens == int((padded_batch()[1][1:] != PAD).sum())
    torch.testing.assert_close(got_loss, want_loss, **FP32)
    for (name, _), got, want in zip(model.named_parameters(), got_grads, want_grads):
        torch.testing.assert_close(got, want, **FP32_DEEP, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("family", FAMILIES)
def test_engine_equals_the_textbook_in_eval_mode_with_dropout(family):
    """Dropout layers are switched off in eval mode, so the engine's own masks cannot matter."""
    torch.manual_seed(0)
    model = build_model(replace(FAMILIES[family], dropout=0.3), SRC_VOCAB, TRG_VOCAB, PAD, SOS).eval()
    src, trg, lengths = padded_batch()
    torch.manual_seed(3)
    want = model.loss(src, trg, 0.5, lengths)[0]
    torch.manual_seed(3)
    torch.testing.assert_close(fast.loss(model, src, trg, 0.5, lengths)[0], want, **FP32)


def test_a_weighted_criterion_goes_through_the_projection_and_still_matches():
    torch.manual_seed(0)
    model = build_model(FAMILIES["classic lstm"], SRC_VOCAB, TRG_VOCAB, PAD, SOS)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    src, trg, lengths = padded_batch()
    want = model.loss(src, trg, 1.0, lengths, criterion)[0]
    torch.testing.assert_close(fast.loss(model, src, trg, 1.0, lengths, criterion)[0], want, **FP32)


def test_a_criterion_that_would_score_padding_is_refused():
    model = build_model(FAMILIES["classic lstm"], SRC_VOCAB, TRG_VOCAB, PAD, SOS)
    src, trg, lengths = padded_batch()
    with pytest.raises(ValueError, match="padding would count"):
        model.loss(src, trg, 1.0, lengths, nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="padding would count"):
        fast.loss(model, src, trg, 1.0, lengths, nn.CrossEntropyLoss())


@pytest.mark.parametrize("family", FAMILIES)
def test_engine_decoder_step_equals_the_textbook_step(family):
    torch.manual_seed(0)
    model = build_model(FAMILIES[family], SRC_VOCAB, TRG_VOCAB, PAD, SOS).eval()
    src, trg, lengths = padded_batch()
    with torch.no_grad():
        want_state = got_state = model.encode(src, lengths)
        for t in range(3):
            want_logits, want_state, want_weights = model.decoder.step(trg[t], want_state)
            got_logits, got_state, got_weights = fast.decoder_step(model, trg[t], got_state)
            torch.testing.assert_close(got_logits, want_logits, **FP32_DEEP)
            if want_weights is None:
                assert got_weights is None
            else:
                torch.testing.assert_close(got_weights, want_weights, **FP32)


def test_fast_dropout_swaps_the_masks_only_inside_and_keeps_their_distribution():
    layer = nn.Dropout(0.25)
    x = torch.ones(200_000)
    torch.manual_seed(0)
    textbook_mask = layer(x)
    with fast_dropout(layer):
        torch.manual_seed(0)
        fast_mask = layer(x)
    torch.manual_seed(0)
    assert torch.equal(layer(x), textbook_mask)  # restored on exit
    assert not torch.equal(fast_mask, textbook_mask)  # a different draw inside
    assert set(fast_mask.unique().tolist()) == {0.0, torch.tensor(1 / 0.75).item()}  # kept ones scaled by 1/(1-p)
    assert abs((fast_mask == 0).float().mean().item() - 0.25) < 0.005
    layer.eval()
    with fast_dropout(layer):
        assert torch.equal(layer(x), x)


def test_fused_adam_takes_the_same_step_as_adam():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    twin = nn.Linear(4, 3)
    twin.load_state_dict(model.state_dict())
    optimizers = [fast.make_optimizer(model, 0.1), torch.optim.Adam(twin.parameters(), lr=0.1)]
    for net, optimizer in zip((model, twin), optimizers):
        net(torch.ones(2, 4)).sum().backward()
        optimizer.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, **FP32)


def test_inference_restores_the_mode_and_the_onednn_switch():
    model = nn.Linear(2, 2).train()
    before = torch.backends.mkldnn.enabled
    with fast.inference(model, torch.device("cpu")):
        assert not model.training and not torch.is_grad_enabled()
        assert not torch.backends.mkldnn.enabled
    assert model.training and torch.backends.mkldnn.enabled == before


def test_linear_cross_entropy_over_several_chunks_matches_autograd():
    torch.manual_seed(0)
    x = torch.randn(1000, 8, requires_grad=True)  # 1000 rows of vocab 5000: three chunks
    weight, bias = torch.randn(5000, 8, requires_grad=True), torch.randn(5000, requires_grad=True)
    targets = torch.randint(0, 5000, (1000,))
    fused = linear_cross_entropy(x, weight, bias, targets)
    (2 * fused).backward()
    grads = [t.grad.clone() for t in (x, weight, bias)]
    for t in (x, weight, bias):
        t.grad = None
    reference = F.cross_entropy(F.linear(x, weight, bias), targets)
    (2 * reference).backward()
    torch.testing.assert_close(fused, reference, **FP32_DEEP)
    for got, t in zip(grads, (x, weight, bias)):
        torch.testing.assert_close(got, t.grad, **FP32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert abs(linear_cross_entropy(x, weight, bias, targets).item() - reference.item()) < 0.05 * reference.item()


@pytest.mark.parametrize("grad", [True, False])
def test_the_fused_loss_refuses_targets_that_do_not_match_its_rows(grad):
    from seq2seq_lib.fast.fused_loss import linear_cross_entropy

    x, weight, bias = torch.randn(5, 3, requires_grad=grad), torch.randn(7, 3), torch.randn(7)
    with pytest.raises(ValueError, match=r"one integer id per row of x, shape \(5,\)"):
        linear_cross_entropy(x, weight, bias, torch.tensor([0, 6, 2]))
    with pytest.raises(TypeError, match=r"torch.zeros\(V\) as its bias"):
        linear_cross_entropy(x, weight, None, torch.tensor([0, 6, 2, 2, 1]))


@pytest.mark.parametrize("coins", ["yes", [], [1, 0, 1, 1, 1, 1, 1, 1]])
def test_teacher_forcing_coins_of_the_wrong_kind_are_refused(coins):
    src, trg, src_lengths = padded_batch()
    model = build_model(FAMILIES["classic lstm"], SRC_VOCAB, TRG_VOCAB)
    with pytest.raises(ValueError, match="True/False values, one per step"):
        fast.teacher_forced_features(model, trg, coins, model.encode(src, src_lengths))

"""Properties of the encoder-decoder: sizes, shapes, teacher forcing, padding, loss, learning."""
from dataclasses import replace

import pytest
import torch
from torch import nn

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import Decoder, Encoder, Seq2Seq, build_model, count_parameters, teacher_forcing_coins
from tolerance import FP32, FP32_DEEP

PAD, SOS, EOS = 1, 2, 3
SMALL = ModelConfig(emb_dim=16, hidden_dim=32, n_layers=2, dropout=0.0)


def small_model(rnn_type: str = "lstm", dropout: float = 0.0, src_vocab: int = 23, trg_vocab: int = 29) -> Seq2Seq:
    torch.manual_seed(0)
    return build_model(replace(SMALL, rnn_type=rnn_type, dropout=dropout), src_vocab, trg_vocab)


def random_pair(src_len: int = 7, trg_len: int = 9, batch: int = 4, src_vocab: int = 23, trg_vocab: int = 29,
                seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, src_vocab, (src_len, batch), generator=gen)
    trg = torch.randint(4, trg_vocab, (trg_len, batch), generator=gen)
    src[0], trg[0] = SOS, SOS
    return src, trg


def test_classic_model_has_13_898_501_parameters():
    assert count_parameters(build_model(ModelConfig(), 7853, 5893)) == 13_898_501


def test_init_is_uniform_in_plus_minus_0_08():
    values = torch.cat([p.flatten() for p in small_model().parameters()])
    assert values.abs().max() <= 0.08 and values.std() > 0.04


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_shapes_and_empty_row_zero(rnn_type):
    model = small_model(rnn_type).eval()
    src, trg = random_pair()
    outputs, hidden, cell = model.encoder(src)
    assert outputs.shape == (7, 4, 32) and hidden.shape == (2, 4, 32)
    assert (cell is None) == (rnn_type == "gru")
    logits = model(src, trg, 0.5)
    assert logits.shape == (9, 4, 29)
    assert torch.equal(logits[0], torch.zeros(4, 29))
    assert logits[1:].abs().sum(-1).min() > 0


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_teacher_forced_equals_step_by_step_on_gold_inputs(rnn_type):
    model = small_model(rnn_type).eval()
    src, trg = random_pair()
    with torch.no_grad():
        fast = model(src, trg, teacher_forcing_ratio=1.0)
        _, hidden, cell = model.encoder(src)
        slow = [torch.zeros(4, 29)]
        for t in range(1, trg.shape[0]):
            logits, hidden, cell = model.decoder(trg[t - 1], hidden, cell)
            slow.append(logits)
    torch.testing.assert_close(fast, torch.stack(slow), **FP32_DEEP)


def fed_back(model: Seq2Seq, src: torch.Tensor, trg: torch.Tensor, coins: list[bool]) -> torch.Tensor:
    """trg with every input the coins left to the model replaced by the model's own prediction there."""
    predictions = model(src, trg, 0.5).argmax(-1)  # (T, B): row t predicted trg[t]
    fed = trg.clone()
    for t in range(1, trg.shape[0]):
        if not coins[t - 1]:
            fed[t] = predictions[t]
    return fed


@pytest.mark.parametrize("seed", [5, 6])
def test_mixed_teacher_forcing_feeds_the_gold_token_where_the_coin_says_so(seed):
    """At ratio 0.5 the output equals full teacher forcing on trg with the model's guesses put in."""
    model = small_model().eval()
    src, trg = random_pair(trg_len=12)
    torch.manual_seed(seed)
    coins = teacher_forcing_coins(11, 0.5)
    assert 0 < sum(coins[:-1]) < 10  # a real mixture of gold and predicted inputs
    with torch.no_grad():
        torch.manual_seed(seed)
        mixed = model(src, trg, 0.5)
        torch.manual_seed(seed)
        fed = fed_back(model, src, trg, coins)
        torch.testing.assert_close(mixed, model(src, fed, 1.0), **FP32_DEEP)


def test_ratio_zero_uses_only_the_models_own_predictions():
    model = small_model().eval()
    src, trg = random_pair()
    other = trg.clone()
    other[1:] = torch.randint(4, 29, other[1:].shape)
    with torch.no_grad():
        free = model(src, trg, 0.0)
        assert torch.equal(free, model(src, other, 0.0))
        own = torch.cat([trg[:1], free[1:].argmax(-1)])  # its own guesses as if they were gold
        torch.testing.assert_close(free, model(src, own, 1.0), **FP32_DEEP)
        assert (model(src, trg, 1.0) - model(src, other, 1.0)).abs().max() > 1e-4  # gold inputs do matter


@pytest.mark.parametrize("ratio", [0.0, 0.5, 1.0])
def test_loss_equals_cross_entropy_on_outputs_and_grads_match(ratio):
    model = small_model()
    src, trg = random_pair()
    trg[6:, :2] = PAD  # two shorter targets
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    torch.manual_seed(3)
    reference = criterion(model(src, trg, ratio)[1:].view(-1, 29), trg[1:].view(-1))
    reference.backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch.manual_seed(3)
    loss, n_tokens = model.loss(src, trg, ratio, criterion=criterion)
    loss.backward()
    assert n_tokens == int((trg[1:] != PAD).sum())
    torch.testing.assert_close(loss, reference, **FP32)
    for got, want in zip((p.grad for p in model.parameters()), expected):
        torch.testing.assert_close(got, want, **FP32)


def test_loss_with_label_smoothing_uses_the_given_criterion():
    model = small_model().eval()
    src, trg = random_pair()
    criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    reference = criterion(model(src, trg, 1.0)[1:].view(-1, 29), trg[1:].view(-1))
    torch.testing.assert_close(model.loss(src, trg, 1.0, criterion=criterion)[0], reference, **FP32)
    with pytest.raises(ValueError, match="ignore_index=1"):
        model.loss(src, trg, 1.0, criterion=nn.CrossEntropyLoss(ignore_index=0))


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_padding_does_not_change_the_loss(ratio):
    model = small_model().eval()
    gen = torch.Generator().manual_seed(4)
    pairs = [(torch.randint(4, 23, (n,), generator=gen), torch.randint(4, 29, (m,), generator=gen))
             for n, m in [(5, 7), (8, 4), (3, 9)]]
    total = tokens = 0.0
    with torch.no_grad():
        for src, trg in pairs:  # one sentence at a time, no padding at all
            src, trg = torch.cat([torch.tensor([SOS]), src])[:, None], torch.cat([torch.tensor([SOS]), trg])[:, None]
            loss, n = model.loss(src, trg, ratio, torch.tensor([src.shape[0]]))
            total, tokens = total + loss.item() * n, tokens + n
        src = nn.utils.rnn.pad_sequence([torch.cat([torch.tensor([SOS]), s]) for s, _ in pairs], padding_value=PAD)
        trg = nn.utils.rnn.pad_sequence([torch.cat([torch.tensor([SOS]), t]) for _, t in pairs], padding_value=PAD)
        lengths = torch.tensor([len(s) + 1 for s, _ in pairs])
        batched, n = model.loss(src, trg, ratio, lengths)
        extra = torch.full((3, 3), PAD)  # three more rows of padding on both sides
        padded, _ = model.loss(torch.cat([src, extra]), torch.cat([trg, extra]), ratio, lengths)
    assert n == tokens
    assert abs(batched.item() - total / tokens) < 1e-5
    assert abs(padded.item() - batched.item()) < 1e-5


def test_same_seed_same_output_and_other_seed_differs():
    model = small_model(dropout=0.3).train()
    src, trg = random_pair()
    runs = []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        runs.append(model(src, trg, 0.5))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_reverse_task_overfits_in_seconds():
    torch.manual_seed(0)
    vocab, length, batch = 10, 5, 64
    model = build_model(ModelConfig(emb_dim=32, hidden_dim=128, n_layers=1, dropout=0.0), vocab, vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def make_batch():
        body = torch.randint(4, vocab, (length, batch))
        eos = torch.full((1, batch), EOS)
        sos = torch.full((1, batch), SOS)
        return torch.cat([sos, body, eos]), torch.cat([sos, body.flip(0), eos])

    for _ in range(300):
        src, trg = make_batch()
        optimizer.zero_grad()
        loss, _ = model.loss(src, trg, 0.5)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    src, trg = make_batch()
    model.eval()
    with torch.no_grad():
        predicted = model(src, trg, 0.0)[1:].argmax(-1)  # free-running: only its own predictions
    accuracy = (predicted == trg[1:]).float().mean().item()
    assert loss.item() < 0.1 and accuracy > 0.95, (loss.item(), accuracy)


@pytest.mark.parametrize("changes, message", [
    ({"hidden_dim": 0}, "hidden_dim must be a positive integer"),
    ({"n_layers": 1.5}, "n_layers must be a positive integer"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"rnn_type": "rnn"}, "rnn_type must be one of"),
])
def test_invalid_config_values_raise(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(ModelConfig(), **changes)


def test_invalid_model_inputs_raise_clear_errors():
    model = small_model()
    src, trg = random_pair()
    with pytest.raises(ValueError, match="src_vocab_size must be an integer >= 4"):
        build_model(SMALL, 3, 29)
    with pytest.raises(ValueError, match="must match"):
        Seq2Seq(Encoder(23, 16, 32, 2, 0.0), Decoder(29, 16, 64, 2, 0.0))
    with pytest.raises(ValueError, match="transpose"):
        model(src.float(), trg)
    with pytest.raises(ValueError, match="batch sizes differ"):
        model(src, trg[:, :3])
    with pytest.raises(ValueError, match="at least 2 rows"):
        model(src, trg[:1])
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        model(src, trg, 1.5)
    with pytest.raises(ValueError, match="outside"):
        model(src, trg + 100)
    with pytest.raises(ValueError, match="src_lengths"):
        model(src, trg, 0.5, torch.tensor([7, 7]))


@pytest.mark.parametrize("compute", ["forward", "loss", "engine"])
@pytest.mark.parametrize("lengths, ratio, error, match", [
    ([7, 7, 7, 7], 1.0, TypeError, r"src_lengths must be a tensor of shape \(4,\).*torch.tensor"),
    (torch.tensor([0, 7, 7, 7]), 1.0, ValueError, r"src_lengths must be in \[1, 7\]"),
    (torch.tensor([8, 7, 7, 7]), 1.0, ValueError, r"src_lengths must be in \[1, 7\]"),
    (None, "0.5", ValueError, "teacher_forcing_ratio must be a number in"),
], ids=["list", "zero", "longer than src", "ratio as text"])
def test_training_batches_refuse_bad_lengths_and_ratios_before_the_rnn_sees_them(compute, lengths, ratio, error,
                                                                                 match):
    from seq2seq_lib import fast

    model, (src, trg) = small_model(), random_pair()
    call = {"forward": lambda: model(src, trg, ratio, lengths), "loss": lambda: model.loss(src, trg, ratio, lengths),
            "engine": lambda: fast.loss(model, src, trg, ratio, lengths)}[compute]
    with pytest.raises(error, match=match):
        call()


def test_a_criterion_that_reads_logits_as_log_probabilities_is_refused():
    model, (src, trg) = small_model(), random_pair()
    with pytest.raises(ValueError, match="NLLLoss expects log-probabilities.*CrossEntropyLoss"):
        model.loss(src, trg, 1.0, criterion=nn.NLLLoss(ignore_index=model.pad_idx))
    with pytest.raises(TypeError, match="criterion must be a loss module"):
        model.loss(src, trg, 1.0, criterion="ce")


@pytest.mark.parametrize("pad_idx", ["<pad>", -1, True])
def test_a_special_id_that_is_not_an_id_is_refused(pad_idx):
    with pytest.raises(ValueError, match="pad_idx must be a token id"):
        build_model(SMALL, 23, 29, pad_idx=pad_idx)

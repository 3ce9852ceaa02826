"""fast.rnn_calls: a module call made layer by layer, or one length at a time, gives the module's own results."""
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seq2seq_lib.fast.rnn_calls import fast_rnns, rnn_forward, supports_rnn_calls
from tolerance import FP32_DEEP

LENGTHS = torch.tensor([5, 3, 5, 2, 3, 4])  # mixed, unsorted, with repeats


def _flat(state):
    return torch.cat([s.flatten() for s in state]) if isinstance(state, tuple) else state.flatten()


def _rnn(kind, layers, bidirectional, bias=True):
    torch.manual_seed(0)
    return kind(4, 6, layers, bias=bias, bidirectional=bidirectional).train()  # dropout 0: one network


def _initial(kind, layers, bidirectional, with_state):
    if not with_state:
        return None
    h = torch.randn(layers * (2 if bidirectional else 1), len(LENGTHS), 6)
    return (h, torch.randn_like(h)) if kind is nn.LSTM else h


def _results_and_grads(call, rnn, x, hx, packed):
    rnn.zero_grad()
    x.grad = None
    source = pack_padded_sequence(x, LENGTHS, enforce_sorted=False) if packed else x
    output, state = call(source, hx)
    if packed:
        output, lengths = pad_packed_sequence(output, total_length=x.shape[0])
        assert torch.equal(lengths, LENGTHS)
    weights = torch.linspace(-1, 1, output.numel()).reshape(output.shape)
    ((output * weights).sum() + _flat(state).sin().sum()).backward()
    return [output.detach(), _flat(state).detach(), x.grad.clone()] + [p.grad.clone() for p in rnn.parameters()]


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_rnn_forward_equals_the_module_call(kind, layers, bidirectional, packed, with_state):
    rnn = _rnn(kind, layers, bidirectional)
    x = torch.randn(5, len(LENGTHS), 4, requires_grad=True)
    hx = _initial(kind, layers, bidirectional, with_state)
    want = _results_and_grads(rnn, rnn, x, hx, packed)
    got = _results_and_grads(lambda source, state: rnn_forward(rnn, source, state), rnn, x, hx, packed)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **FP32_DEEP)


def test_padding_outputs_stay_zero_and_each_state_stops_at_its_own_last_token():
    rnn = _rnn(nn.LSTM, 2, False)
    x = torch.randn(5, len(LENGTHS), 4)
    output, (hidden, _) = rnn_forward(rnn, pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
    padded, _ = pad_packed_sequence(output, total_length=5)
    for column, length in enumerate(LENGTHS.tolist()):
        assert torch.equal(padded[length:, column], torch.zeros(5 - length, 6))
        alone, (alone_hidden, _) = rnn(x[:length, column:column + 1])  # the sentence on its own
        torch.testing.assert_close(hidden[:, column], alone_hidden[:, 0], **FP32_DEEP)


def test_dropout_between_layers_only_in_training_and_only_between():
    rnn = _rnn(nn.LSTM, 2, False)
    rnn.dropout = 0.5
    x = torch.randn(5, 3, 4)
    torch.manual_seed(1)
    first = rnn_forward(rnn, x)[0]
    torch.manual_seed(2)
    assert not torch.equal(rnn_forward(rnn, x)[0], first)  # another mask between the layers
    rnn.eval()
    torch.testing.assert_close(rnn_forward(rnn, x)[0], rnn(x)[0], **FP32_DEEP)
    one_layer = nn.LSTM(4, 6, 1).train()
    torch.manual_seed(1)
    a = rnn_forward(one_layer, x)[0]
    torch.manual_seed(2)
    assert torch.equal(rnn_forward(one_layer, x)[0], a)  # nothing to drop between layers


def test_fast_rnns_swaps_supported_modules_only_inside():
    model = nn.ModuleDict({"lstm": nn.LSTM(4, 6), "batch_first": nn.GRU(4, 6, batch_first=True),
                           "projected": nn.LSTM(4, 6, proj_size=3)})
    assert supports_rnn_calls(model["lstm"])
    assert not supports_rnn_calls(model["batch_first"]) and not supports_rnn_calls(model["projected"])
    with fast_rnns(model):
        assert "forward" in vars(model["lstm"])
        assert "forward" not in vars(model["batch_first"]) and "forward" not in vars(model["projected"])
    assert "forward" not in vars(model["lstm"])


def test_unbatched_input_goes_to_the_module():
    rnn = _rnn(nn.GRU, 1, False)
    x = torch.randn(5, 4)  # (S, In): no batch axis
    torch.testing.assert_close(rnn_forward(rnn, x)[0], rnn(x)[0], **FP32_DEEP)

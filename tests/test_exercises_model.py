"""Exercises of notebooks 04-05: right answers come from the real modules, typical wrong answers get the hint that fits."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_lib.config import ModelConfig
from seq2seq_lib.exercises import nb04, nb05
from seq2seq_lib.models import Decoder, Encoder, build_model, count_parameters
from seq2seq_lib.utils import set_seed
from exercise_checks import assert_hint, assert_nonsense_gets_a_hint, verdict
from tolerance import FP32

NAMES = ["04.shapes", "04.encoder_params", "04.last_row", "04.forget_gate",
         "05.logits_shape", "05.softmax", "05.run_inputs", "05.perplexity", "05.uniform_perplexity",
         "05.temperature"]


@pytest.mark.parametrize("name", NAMES)
def test_nonsense_answers_get_a_hint_not_a_crash(name):
    assert_nonsense_gets_a_hint(name)


# ---------------------------------------------------------------- 04


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    set_seed(0)
    return Encoder(50, nb04.EMB_DIM, nb04.HIDDEN_DIM, nb04.N_LAYERS, dropout=0.0).eval()


def test_shapes_right_answer_is_what_the_encoder_returns(encoder):
    src = torch.randint(4, 50, (nb04.SRC_LEN, nb04.BATCH))
    outputs, hidden, cell = encoder(src)
    answer = (outputs.shape, hidden.shape)
    assert answer == ((9, 4, 128), (2, 4, 128))
    assert verdict("04.shapes", answer)
    assert verdict("04.shapes", [list(outputs.shape), list(cell.shape)])


@pytest.mark.parametrize("answer, hint", [
    (((4, 9, 128), (2, 4, 128)), "batch_first=False"),
    (((9, 4, 128), (4, 2, 128)), "one row per layer first"),
    (((2, 4, 128), (9, 4, 128)), "swapped"),
    (((9, 4, 64), (2, 4, 128)), "not emb_dim"),
    (((9, 4, 128), (2, 4, 64)), "not emb_dim"),
    (((9, 4, 128), (1, 4, 128)), "first dimension is 2"),
    (((2, 9, 4, 128), (2, 4, 128)), "only the top layer"),
    (((11, 4, 128), (2, 4, 128)), "one row per source position"),
    (((9, 4, 128), (2, 5, 128)), "check each of the three numbers"),
    ((9, 4, 128), "pair of shapes"),
    (("9, 4, 128", (2, 4, 128)), "tuple of whole numbers"),
])
def test_shapes_wrong_answers(answer, hint):
    assert_hint("04.shapes", answer, hint)


def test_encoder_params_right_answer_counts_the_library_encoder():
    encoder = Encoder(nb04.CLASSIC_SRC_VOCAB, nb04.CLASSIC_EMB_DIM, nb04.CLASSIC_HIDDEN_DIM,
                      nb04.CLASSIC_N_LAYERS, dropout=0.5)
    right = count_parameters(encoder)
    assert right == 5_688_576 == nb04.encoder_params(7853, 256, 512, 2)
    assert verdict("04.encoder_params", right)


def test_encoder_params_helpers_match_pytorch():
    assert nb04.lstm_layer_params(256, 512) == count_parameters(nn.LSTM(256, 512))
    assert nb04.lstm_layer_params(256, 512, biases=0) == count_parameters(nn.LSTM(256, 512, bias=False))
    assert nb04.encoder_params(30, 8, 16, 3) == count_parameters(Encoder(30, 8, 16, 3, dropout=0.1))


def test_classic_encoder_is_its_share_of_the_classic_model():
    model = build_model(ModelConfig(), 7853, 5893)
    assert count_parameters(model) == 13_898_501
    assert count_parameters(model.encoder) == nb04.encoder_params(7853, 256, 512, 2)


@pytest.mark.parametrize("answer, hint", [
    (5_680_384, "left out the biases"),
    (5_684_480, "you counted one"),
    (5_164_288, "not emb_dim = 256"),
    (3_678_208, "add the embedding"),
    (2_010_368 + 1_576_960, "counted only the first"),
    (nb04.encoder_params(7853, 256, 512, 2, gates=1), "four gates"),
    (13_898_501, "count three parts"),
    (5_688_576.0, "whole number"),
    ("5688576", "whole number"),
])
def test_encoder_params_wrong_answers(answer, hint):
    assert_hint("04.encoder_params", answer, hint)


def test_last_row_right_answer_is_where_packing_stops(encoder):
    set_seed(1)
    src = torch.randint(4, 50, (nb04.PADDED_LEN, 2))
    lengths = torch.tensor([nb04.PADDED_LEN, nb04.SENTENCE_LEN])
    src[nb04.SENTENCE_LEN:, 1] = 1  # <pad>
    outputs, hidden, _ = encoder(src, lengths)
    rows = [t for t in range(nb04.PADDED_LEN) if torch.allclose(outputs[t, 1], hidden[-1, 1])]
    assert rows == [nb04.SENTENCE_LEN - 1]
    assert verdict("04.last_row", rows[0])


@pytest.mark.parametrize("answer, hint", [
    (7, "rows count from 0"),
    (11, "right only without src_lengths"),
    (-1, "right only without src_lengths"),
    (12, "not at the end of the padded"),
    (5, "<eos> is a token"),
    (3, "markers included"),
    (6.0, "whole number"),
])
def test_last_row_wrong_answers(answer, hint):
    assert_hint("04.last_row", answer, hint)


def notebook_gradient_norms(rnn, seq_len, seed=0):
    """The function of notebook 04, section 3, as the notebook writes it."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, 1, rnn.input_size, generator=generator, dtype=torch.float64, requires_grad=True)
    outputs, _ = rnn(x)
    outputs[-1].sum().backward()
    return x.grad.norm(dim=-1).squeeze(1)


def open_lstm(bias, rows=slice(nb04.GRAD_HIDDEN_DIM, 2 * nb04.GRAD_HIDDEN_DIM)):
    torch.manual_seed(nb04.GRAD_SEED)
    lstm = nn.LSTM(nb04.GRAD_INPUT_DIM, nb04.GRAD_HIDDEN_DIM).double()
    with torch.no_grad():
        lstm.bias_ih_l0[rows] += bias
    return lstm


def test_forget_gate_right_answer_is_the_notebook_experiment():
    norms = notebook_gradient_norms(open_lstm(nb04.FORGET_BIAS), nb04.GRAD_SEQ_LEN)
    assert norms.tolist() == pytest.approx(nb04.gradient_norms("lstm", nb04.GRAD_SEQ_LEN, nb04.FORGET_BIAS))
    assert verdict("04.forget_gate", norms[0] / norms[-1])  # a 0-d tensor is accepted
    assert verdict("04.forget_gate", float(norms[0] / norms[-1]) * 1.01)  # within the tolerance


def test_gradient_reach_shrinks_with_length_and_the_open_forget_gate_keeps_it():
    """The claims of notebook 04, section 3."""
    for seq_len in (10, 20, 50):
        rnn = nb04.reach(nb04.gradient_norms("rnn", seq_len))
        lstm = nb04.reach(nb04.gradient_norms("lstm", seq_len))
        opened = nb04.reach(nb04.gradient_norms("lstm", seq_len, nb04.SECTION_FORGET_BIAS))
        assert rnn < lstm < opened
    reaches = [nb04.reach(nb04.gradient_norms("rnn", seq_len)) for seq_len in (10, 20, 50)]
    assert reaches == sorted(reaches, reverse=True) and reaches[-1] < 1e-10
    assert nb04.reach(nb04.gradient_norms("lstm", 50, nb04.SECTION_FORGET_BIAS)) > 0.1


def forget_gate_reach(**kwargs):
    return nb04.reach(nb04.gradient_norms("lstm", nb04.GRAD_SEQ_LEN, **kwargs))


@pytest.mark.parametrize("answer, hint", [
    (lambda: 1 / forget_gate_reach(bias=nb04.FORGET_BIAS), "norms[-1] / norms[0]"),
    (lambda: forget_gate_reach(), "as initialised"),
    (lambda: forget_gate_reach(bias=nb04.FORGET_BIAS, both_biases=True), "bias_ih_l0 only"),
    (lambda: forget_gate_reach(bias=nb04.SECTION_FORGET_BIAS), "the bias of the section"),
    (lambda: nb04.reach(nb04.gradient_norms("rnn", nb04.GRAD_SEQ_LEN)), "plain nn.RNN"),
    (lambda: forget_gate_reach(bias=nb04.FORGET_BIAS, gate="input"), "the input gate's rows"),
    (lambda: forget_gate_reach(bias=nb04.FORGET_BIAS, gate="output"), "the output gate's rows"),
    (lambda: forget_gate_reach(bias=nb04.FORGET_BIAS, gate="candidate"), "bias_ih_l0[H:2 * H]"),
    (lambda: 0.5, "divide the first norm by the last"),
    (lambda: -1e-5, "positive"),
    (lambda: "3.9e-05", "one number"),
    (lambda: float("inf"), "one number"),
])
def test_forget_gate_wrong_answers(answer, hint):
    assert_hint("04.forget_gate", answer(), hint)


def test_forget_gate_wrong_slice_in_the_notebook_gets_the_slice_hint():
    H = nb04.GRAD_HIDDEN_DIM
    norms = notebook_gradient_norms(open_lstm(nb04.FORGET_BIAS, rows=slice(0, H)), nb04.GRAD_SEQ_LEN)
    assert_hint("04.forget_gate", norms[0] / norms[-1], "forget gate is rows H to 2H")


# ---------------------------------------------------------------- 05


def test_logits_shape_right_answer_is_what_the_decoder_returns():
    set_seed(0)
    decoder = Decoder(nb05.TRG_VOCAB, 8, 16, nb05.N_LAYERS, dropout=0.0)
    hidden = cell = torch.zeros(nb05.N_LAYERS, nb05.BATCH, 16)
    logits, _, _ = decoder(torch.full((nb05.BATCH,), 2), hidden, cell)
    assert tuple(logits.shape) == (4, 5893)
    assert verdict("05.logits_shape", logits.shape)


@pytest.mark.parametrize("answer, hint", [
    ((5893, 4), "batch of 4 comes first"),
    ((1, 4, 5893), "squeezes the time dimension"),
    ((4, 512), "before fc_out"),
    ((4, 256), "embedding of the input"),
    ((2, 4, 512), "hidden and cell"),
    ((4, 1302), "size of the target vocabulary"),
    ((4,), "one score per"),
    ("(4, 5893)", "tuple of whole numbers"),
])
def test_logits_shape_wrong_answers(answer, hint):
    assert_hint("05.logits_shape", answer, hint)


def test_softmax_right_answer_matches_torch():
    probs = torch.softmax(torch.tensor(nb05.LOGITS) / nb05.TEMPERATURE, dim=0)
    assert nb05.softmax(nb05.LOGITS, nb05.TEMPERATURE) == pytest.approx(probs.tolist())
    assert verdict("05.softmax", probs.max())  # a 0-d tensor is accepted
    assert verdict("05.softmax", round(float(probs.max()), 3))
    assert verdict("05.softmax", 0.865)


@pytest.mark.parametrize("answer, hint", [
    (0.644, "temperature 1"),
    (0.455, "multiplied by the temperature"),
    (1.0, "argmax"),
    (2.0, "that is a logit"),
    (4.0, "that is a logit"),
    (1.7, "between 0 and 1"),
    (0.5, "compute exp"),
    (True, "one number"),
    ([0.865], "one number"),
])
def test_softmax_wrong_answers(answer, hint):
    assert_hint("05.softmax", answer, hint)


def test_run_inputs_right_answer_is_what_seq2seq_feeds():
    """With teacher forcing 1, Seq2Seq feeds the decoder trg[:-1], one token per step."""
    set_seed(0)
    model = build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0), 20, 20)
    seen = []
    original = model.decoder.step

    def spy(input, state):
        seen.append(input.clone())
        return original(input, state)

    model.decoder.step = spy
    trg = torch.arange(2, 2 + len(nb05.GOLD)).unsqueeze(1)  # (T, 1), ids stand for GOLD's tokens
    model(torch.tensor([[2], [5], [3]]), trg, teacher_forcing_ratio=1.0)
    fed = torch.cat(seen).tolist()
    assert [nb05.GOLD[i - 2] for i in fed] == list(nb05.GOLD[:-1])
    assert verdict("05.run_inputs", [nb05.GOLD[i - 2] for i in fed])
    assert verdict("05.run_inputs", nb05.GOLD[:-1])


@pytest.mark.parametrize("answer, hint", [
    (list(nb05.GOLD), "<eos> is never an input"),
    (list(nb05.GOLD[1:]), "those are the targets"),
    (list(nb05.GOLD[1:-1]), "the first input is <sos>"),
    (["<sos>", "two", "dogs"], "which token is never an input"),
    ("<sos> two dogs play .", "list of tokens"),
    ([2, 4, 5], "list of tokens"),
])
def test_run_inputs_wrong_answers(answer, hint):
    assert_hint("05.run_inputs", answer, hint)


def test_perplexity_right_answer_is_exp_of_torch_cross_entropy():
    logits, gold = torch.tensor(nb05.STEP_LOGITS), torch.tensor(nb05.GOLD_IDS)
    mean_ce = F.cross_entropy(logits, gold)
    log_p = torch.log_softmax(logits, dim=-1)[torch.arange(len(gold)), gold]
    torch.testing.assert_close(-log_p.mean(), mean_ce, **FP32)  # cross-entropy is the negative log-likelihood
    assert nb05.perplexity(nb05.STEP_LOGITS, nb05.GOLD_IDS) == pytest.approx(float(mean_ce.exp()))
    assert verdict("05.perplexity", mean_ce.exp())
    assert verdict("05.perplexity", round(float(mean_ce.exp()), 3))


@pytest.mark.parametrize("answer, hint", [
    (0.718, "that is the mean cross-entropy"),
    (0.4877, "below 1"),
    (8.62, "exp of the total"),
    (1.645, "mixed bases"),
    (2.818, "mixed bases"),
    (1.469, "you scored the most likely token"),
    (1.7265, "not the probabilities"),
    (2.566, "not the probabilities"),
    (0.3, "at least 1"),
    (3.0, "F.cross_entropy"),
    ("2.05", "one number"),
])
def test_perplexity_wrong_answers(answer, hint):
    assert_hint("05.perplexity", answer, hint)


def uniform_decoder_perplexity(vocab_size, zero_bias=True):
    """Teacher-forced perplexity of a decoder whose fc_out is zeroed, on a padded batch."""
    set_seed(0)
    model = build_model(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0), 30, vocab_size)
    model.eval()
    with torch.no_grad():
        model.decoder.fc_out.weight.zero_()
        if zero_bias:
            model.decoder.fc_out.bias.zero_()
        trg = torch.randint(4, vocab_size, (6, 3))
        trg[4:, 0] = 1  # <pad>
        _, hidden, cell = model.encoder(torch.randint(4, 30, (5, 3)))
        logits = []
        for step_input in trg[:-1]:
            step_logits, hidden, cell = model.decoder(step_input, hidden, cell)
            logits.append(step_logits)
        ce = F.cross_entropy(torch.stack(logits).reshape(-1, vocab_size), trg[1:].reshape(-1), ignore_index=1)
    return float(ce.exp())


def test_uniform_perplexity_right_answer_is_the_vocabulary_size():
    assert uniform_decoder_perplexity(50) == pytest.approx(50, rel=1e-5)
    assert verdict("05.uniform_perplexity", (uniform_decoder_perplexity(50), 50))
    assert verdict("05.uniform_perplexity", (torch.tensor(1302.0), 1302))


@pytest.mark.parametrize("answer, hint", [
    ((math.log(1302), 1302), "that is the cross-entropy"),
    ((1 / 1302, 1302), "probability of each token"),
    ((2.0, 1302), "make every logit equal"),
    ((1302.0,), "a pair"),
    ((1302.0, 1302.0), "size of the target vocabulary"),
    (("1302", 1302), "the first number is the perplexity"),
])
def test_uniform_perplexity_wrong_answers(answer, hint):
    assert_hint("05.uniform_perplexity", answer, hint)


def test_uniform_perplexity_left_bias_gets_the_bias_hint():
    value = uniform_decoder_perplexity(50, zero_bias=False)
    assert value != pytest.approx(50, rel=1e-3)
    assert_hint("05.uniform_perplexity", (value, 50), "fc_out has a bias")


# ---------------------------------------------------------------- 05.temperature


def test_temperature_right_answer_is_the_softmax_at_two():
    probs = torch.softmax(torch.tensor(nb05.LOGITS) / nb05.EXPERIMENT_TEMPERATURE, dim=0)
    assert verdict("05.temperature", float(probs.max()))
    assert verdict("05.temperature", probs.max())  # a 0-d tensor is fine too
    assert verdict("05.temperature", round(float(probs.max()), 3))


@pytest.mark.parametrize("temperature, hint", [(1.0, "value at T = 1"), (0.5, "T = 0.5")])
def test_temperature_other_temperatures(temperature, hint):
    assert_hint("05.temperature", max(nb05.softmax(nb05.LOGITS, temperature)), hint)


def test_temperature_other_wrong_answers():
    top = max(nb05.softmax(nb05.LOGITS, nb05.EXPERIMENT_TEMPERATURE))
    assert_hint("05.temperature", math.log(top), "log-probability")
    assert_hint("05.temperature", min(nb05.softmax(nb05.LOGITS, nb05.EXPERIMENT_TEMPERATURE)), "least likely")
    assert_hint("05.temperature", 2.0, "between 0 and 1")
    assert_hint("05.temperature", 0.3, "torch.softmax")
    assert_hint("05.temperature", ..., "replace the `...`")

"""Exercises of notebook 04: the encoder's output shapes, its parameter count, the last real row, the forget gate.

>>> from seq2seq_lib.exercises import check
>>> check("04.shapes", ((4, 9, 128), (2, 4, 128))).correct
❌ 04.shapes: not yet. Hint: outputs is time first like src: (seq_len, batch, hidden_dim). nn.LSTM is built with batch_first=False, so the batch comes second.
False
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from numbers import Integral

from . import as_number, as_shape, exercise

# 04.shapes: an encoder of these sizes reads a src batch of shape (SRC_LEN, BATCH)
SRC_LEN, BATCH = 9, 4
EMB_DIM, HIDDEN_DIM, N_LAYERS = 64, 128, 2
# 04.encoder_params: the classic encoder
CLASSIC_SRC_VOCAB, CLASSIC_EMB_DIM, CLASSIC_HIDDEN_DIM, CLASSIC_N_LAYERS = 7_853, 256, 512, 2
# 04.last_row: a batch padded to PADDED_LEN rows; one sentence has SENTENCE_LEN ids (<sos>/<eos> included)
PADDED_LEN, SENTENCE_LEN = 12, 7
# 04.forget_gate: the gradient experiment of section 3 (float64, one sequence of random inputs)
GRAD_INPUT_DIM, GRAD_HIDDEN_DIM, GRAD_SEED = 8, 32, 0
GRAD_SEQ_LEN, FORGET_BIAS, SECTION_FORGET_BIAS = 50, 1.0, 3.0
GATE_ROWS = {"input": 0, "forget": 1, "candidate": 2, "output": 3}  # PyTorch's order of the gate blocks


def lstm_layer_params(input_dim: int, hidden_dim: int, biases: int = 2, gates: int = 4) -> int:
    """Parameters of one nn.LSTM layer: `gates` blocks of input and recurrent weights, plus biases.

    >>> lstm_layer_params(256, 512)
    1576960
    """
    return gates * hidden_dim * (input_dim + hidden_dim) + biases * gates * hidden_dim


def encoder_params(vocab_size: int, emb_dim: int, hidden_dim: int, n_layers: int, biases: int = 2,
                   upper_input: int | None = None, gates: int = 4) -> int:
    """Parameters of the encoder: embedding + n_layers LSTM layers (layer 0 reads emb_dim, the rest hidden_dim).

    `upper_input` replaces the input size of layers 1.. (to reproduce a typical mistake).

    >>> encoder_params(7853, 256, 512, 2)
    5688576
    """
    upper = hidden_dim if upper_input is None else upper_input
    layers = lstm_layer_params(emb_dim, hidden_dim, biases, gates)
    layers += (n_layers - 1) * lstm_layer_params(upper, hidden_dim, biases, gates)
    return vocab_size * emb_dim + layers



def _as_count(answer: object) -> int | None:
    return None if isinstance(answer, bool) or not isinstance(answer, Integral) else int(answer)


def _shape_hint(shape: tuple[int, ...], expected: tuple[int, ...], what: str) -> str:
    """Hint for a wrong shape of `what` ("outputs" or "hidden"); empty when the shape is right."""
    if shape == expected:
        return ""
    first = "seq_len" if what == "outputs" else "n_layers"
    if len(shape) != 3:
        return (f"{what} has three dimensions, ({first}, batch, hidden_dim); yours has {len(shape)}."
                + (" outputs holds only the top layer, so there is no layer dimension." if what == "outputs"
                   and len(shape) == 4 else ""))
    if shape == (expected[1], expected[0], expected[2]):
        if what == "outputs":
            return ("outputs is time first like src: (seq_len, batch, hidden_dim). nn.LSTM is built with "
                    "batch_first=False, so the batch comes second.")
        return "hidden is (n_layers, batch, hidden_dim): one row per layer first, then the batch."
    if shape[:2] == expected[:2] and shape[2] == EMB_DIM:
        return (f"the last dimension is hidden_dim ({HIDDEN_DIM}), not emb_dim ({EMB_DIM}): the LSTM maps "
                "each embedding to a state of hidden_dim numbers.")
    if what == "hidden" and shape[1:] == expected[1:]:
        return (f"the encoder has {N_LAYERS} layers and hidden keeps the final state of each, so its first "
                f"dimension is {N_LAYERS}.")
    if what == "outputs" and shape[1:] == expected[1:]:
        return f"outputs has one row per source position: src has {SRC_LEN} rows."
    return f"{what} should be ({first}, batch, hidden_dim); check each of the three numbers."


@exercise("04.shapes")
def shapes(answer: object) -> tuple[bool, str]:
    """(outputs.shape, hidden.shape) of an encoder with EMB_DIM/HIDDEN_DIM/N_LAYERS on src (SRC_LEN, BATCH)."""
    expected_outputs, expected_hidden = (SRC_LEN, BATCH, HIDDEN_DIM), (N_LAYERS, BATCH, HIDDEN_DIM)
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence) or len(answer) != 2:
        return False, "answer with a pair of shapes: (outputs.shape, hidden.shape), e.g. ((1, 2, 3), (4, 5, 6))."
    outputs, hidden = as_shape(answer[0]), as_shape(answer[1])
    if outputs is None or hidden is None:
        return False, "each shape is a tuple of whole numbers, e.g. tuple(outputs.shape)."
    if (outputs, hidden) == (expected_outputs, expected_hidden):
        return True, ("outputs has the top layer's state at every position; hidden has every layer's state "
                      "at the last position.")
    if (hidden, outputs) == (expected_outputs, expected_hidden):
        return False, ("the two shapes are swapped: outputs comes first and has one row per source position, "
                       "hidden one row per layer.")
    hint = _shape_hint(outputs, expected_outputs, "outputs") or _shape_hint(hidden, expected_hidden, "hidden")
    return False, hint


@exercise("04.encoder_params")
def encoder_params_exercise(answer: object) -> tuple[bool, str]:
    """Trainable parameters of the classic encoder: Embedding(7,853, 256) + 2-layer LSTM(256 -> 512)."""
    sizes = (CLASSIC_SRC_VOCAB, CLASSIC_EMB_DIM, CLASSIC_HIDDEN_DIM, CLASSIC_N_LAYERS)
    expected = encoder_params(*sizes)
    count = _as_count(answer)
    if count is None:
        return False, "answer with a whole number of parameters, e.g. count_parameters(encoder)."
    if count == expected:
        return True, ("the embedding is 2,010,368 of them; the second LSTM layer is bigger than the first "
                      "because its input is 512 wide, not 256.")
    embedding = CLASSIC_SRC_VOCAB * CLASSIC_EMB_DIM
    hidden = CLASSIC_HIDDEN_DIM
    if count == encoder_params(*sizes, biases=0):
        return False, ("you left out the biases. Each LSTM layer has two bias vectors, bias_ih and bias_hh, "
                       f"each 4 x {hidden} long.")
    if count == encoder_params(*sizes, biases=1):
        return False, ("PyTorch's LSTM has two bias vectors per layer, bias_ih and bias_hh (4 x 512 each); "
                       "you counted one.")
    if count == encoder_params(*sizes, upper_input=CLASSIC_EMB_DIM):
        return False, ("the second layer reads the first layer's output, which is hidden_dim = 512 wide, "
                       "not emb_dim = 256: its input weights are 4 x 512 x 512.")
    if count == expected - embedding:
        return False, f"add the embedding table: one row of {CLASSIC_EMB_DIM} numbers per source token."
    if count == embedding + lstm_layer_params(CLASSIC_EMB_DIM, hidden):
        return False, "the encoder has two LSTM layers; you counted only the first."
    if count in (encoder_params(*sizes, gates=1), encoder_params(*sizes, gates=1, biases=1)):
        return False, ("an LSTM has four gates (input, forget, cell, output), each with its own weights: "
                       "4 x hidden_dim rows in every weight matrix.")
    return False, ("count three parts: the embedding (vocab x emb_dim), then per LSTM layer "
                   "4 x hidden x (input + hidden) weights plus two bias vectors of 4 x hidden. "
                   "Layer 0's input is emb_dim, layer 1's is hidden_dim.")


@exercise("04.last_row")
def last_row(answer: object) -> tuple[bool, str]:
    """Row t of outputs[:, b] that equals hidden[-1, b] when src_lengths is passed (0-based)."""
    expected = SENTENCE_LEN - 1
    row = _as_count(answer)
    if row is None:
        return False, "answer with one whole number: a row index t such that outputs[t, b] equals hidden[-1, b]."
    if row == expected:
        return True, "rows count from 0, and with src_lengths the LSTM stops at the sentence's own last token."
    if row == SENTENCE_LEN:
        return False, f"rows count from 0: a sentence of {SENTENCE_LEN} ids fills rows 0 to {SENTENCE_LEN - 1}."
    if row in (PADDED_LEN - 1, -1):
        return False, ("that is the last row of the tensor, which is right only without src_lengths. With "
                       "src_lengths the padding is skipped: the final state is taken at the sentence's last "
                       "real token, and the rows after it are zeros.")
    if row == PADDED_LEN:
        return False, ("rows count from 0, and with src_lengths the final state is not at the end of the padded "
                       "tensor but at the sentence's own last token.")
    if row == SENTENCE_LEN - 2:
        return False, "<eos> is a token the encoder reads too; the last real row is the one holding <eos>."
    return False, f"the sentence has {SENTENCE_LEN} ids (markers included) and rows count from 0."


def gradient_norms(rnn_type: str = "lstm", seq_len: int = GRAD_SEQ_LEN, bias: float = 0.0, gate: str = "forget",
                   both_biases: bool = False, seed: int = GRAD_SEED) -> list[float]:
    """Norm of d(h_T.sum()) / d x_t for every step t of a fresh one-layer RNN or LSTM (float64).

    The network is built right after torch.manual_seed(seed); `bias` is added to the rows of `gate`
    in bias_ih_l0 (and bias_hh_l0 too when `both_biases`); the inputs come from their own generator
    seeded with `seed`. This is the experiment of notebook 04, section 3.

    >>> norms = gradient_norms("rnn", seq_len=5)
    >>> len(norms), norms[0] < norms[-1]
    (5, True)
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM}[rnn_type]
    rnn = cls(GRAD_INPUT_DIM, GRAD_HIDDEN_DIM).double()
    if bias:
        rows = slice(GATE_ROWS[gate] * GRAD_HIDDEN_DIM, (GATE_ROWS[gate] + 1) * GRAD_HIDDEN_DIM)
        with torch.no_grad():
            rnn.bias_ih_l0[rows] += bias
            if both_biases:
                rnn.bias_hh_l0[rows] += bias
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, 1, GRAD_INPUT_DIM, generator=generator, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        outputs, _ = rnn(x)
        outputs[-1].sum().backward()
    return x.grad.norm(dim=-1).squeeze(1).tolist()


def reach(norms: Sequence[float]) -> float:
    """The share of the last step's gradient that reaches the first step: norms[0] / norms[-1]."""
    return norms[0] / norms[-1]


@lru_cache(maxsize=1)
def _forget_gate_answers() -> dict[str, float]:
    """The right reach and the reach of each typical mistake, computed once."""
    answers = {"right": reach(gradient_norms("lstm", GRAD_SEQ_LEN, FORGET_BIAS))}
    answers["no bias"] = reach(gradient_norms("lstm", GRAD_SEQ_LEN))
    answers["both biases"] = reach(gradient_norms("lstm", GRAD_SEQ_LEN, FORGET_BIAS, both_biases=True))
    answers["section bias"] = reach(gradient_norms("lstm", GRAD_SEQ_LEN, SECTION_FORGET_BIAS))
    answers["plain rnn"] = reach(gradient_norms("rnn", GRAD_SEQ_LEN))
    for gate in ("input", "candidate", "output"):
        answers[gate] = reach(gradient_norms("lstm", GRAD_SEQ_LEN, FORGET_BIAS, gate=gate))
    return answers


@exercise("04.forget_gate")
def forget_gate(answer: object) -> tuple[bool, str]:
    """norms[0] / norms[-1] for the LSTM of section 3 with FORGET_BIAS added to its forget gate, GRAD_SEQ_LEN steps."""
    answer = as_number(answer)
    if answer is None:
        return False, "answer with one number: norms[0] / norms[-1], e.g. float(norms[0] / norms[-1])."
    if answer <= 0:
        return False, "a ratio of two gradient norms is positive; divide norms[0] by norms[-1]."
    answers = _forget_gate_answers()

    def near(value: float) -> bool:  # within 2 %: the same experiment agrees to far more digits
        return value > 0 and abs(math.log(answer / value)) < 0.02

    if near(answers["right"]):
        return True, (f"with the forget gate nudged open, {answer:.2g} of the gradient reaches the first of "
                      f"{GRAD_SEQ_LEN} steps, against {answers['no bias']:.1g} as initialised.")
    if near(1 / answers["right"]):
        return False, "that is norms[-1] / norms[0]; the reach is the first step's norm over the last one's."
    if near(answers["no bias"]):
        return False, (f"that is the LSTM as initialised. Add FORGET_BIAS = {FORGET_BIAS} to the forget gate's "
                       "rows of bias_ih_l0 before measuring.")
    if near(answers["both biases"]):
        return False, ("you added FORGET_BIAS to both bias_ih_l0 and bias_hh_l0; the gate sees their sum, so "
                       "the bias went up twice. Add it to bias_ih_l0 only.")
    if near(answers["section bias"]):
        return False, f"that is the bias of the section ({SECTION_FORGET_BIAS}); use FORGET_BIAS = {FORGET_BIAS}."
    if near(answers["plain rnn"]):
        return False, "that is the plain nn.RNN; the exercise measures the nn.LSTM."
    for gate in ("input", "candidate", "output"):
        if near(answers[gate]):
            return False, (f"you raised the {gate} gate's rows. PyTorch stacks the gates as input, forget, "
                           "candidate, output, so the forget gate is rows H to 2H: bias_ih_l0[H:2 * H].")
    return False, (f"build the LSTM as in section 3 (seed {GRAD_SEED}), add {FORGET_BIAS} to "
                   f"bias_ih_l0[H:2 * H], run gradient_norms on {GRAD_SEQ_LEN} steps and divide the first norm "
                   "by the last.")

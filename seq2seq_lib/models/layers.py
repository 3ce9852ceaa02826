"""Pieces every RNN family shares: building the RNN, running an encoder over padded sentences, states."""
from __future__ import annotations

from torch import Tensor, nn

INIT_RANGE = 0.08  # every weight starts in uniform(-0.08, 0.08), as in Sutskever et al. (2014)
RNN_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU}


def make_rnn(rnn_type: str, input_dim: int, hidden_dim: int, n_layers: int, dropout: float,
             bidirectional: bool = False) -> nn.RNNBase:
    """A time-major nn.LSTM or nn.GRU with dropout between its layers."""
    if rnn_type not in RNN_CLASSES:
        raise ValueError(f"rnn_type must be one of {tuple(RNN_CLASSES)}, got {rnn_type!r}.")
    between_layers = dropout if n_layers > 1 else 0.0  # PyTorch warns about dropout on one layer
    return RNN_CLASSES[rnn_type](input_dim, hidden_dim, n_layers, dropout=between_layers,
                                 bidirectional=bidirectional)


def run_encoder_rnn(rnn: nn.RNNBase, embedded: Tensor, src_lengths: Tensor | None):
    """embedded (S, B, E) -> outputs (S, B, D*H) and the final state, skipping each sentence's padding.

    With `src_lengths` (B,) the sentences are packed, so each final state is taken at the
    sentence's own last token and outputs past it are zeros: padding cannot change the result.
    """
    if src_lengths is None or bool((src_lengths == embedded.shape[0]).all()):  # no padding to skip
        return rnn(embedded)
    packed = nn.utils.rnn.pack_padded_sequence(embedded, src_lengths.cpu(), enforce_sorted=False)
    packed_outputs, state = rnn(packed)
    outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs, total_length=embedded.shape[0])
    return outputs, state


def split_state(state: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor | None]:
    """An LSTM's (hidden, cell) or a GRU's hidden -> (hidden, cell or None)."""
    return (state[0], state[1]) if isinstance(state, tuple) else (state, None)


def join_state(hidden: Tensor, cell: Tensor | None) -> Tensor | tuple[Tensor, Tensor]:
    """(hidden, cell or None) -> what nn.LSTM / nn.GRU take as their state."""
    return hidden if cell is None else (hidden, cell)


def check_cell_state(rnn_type: str, cell: Tensor | None) -> None:
    """A decoder's RNN must match the encoder's: an LSTM needs the cell state, a GRU has none."""
    if (rnn_type == "lstm") != (cell is not None):
        raise ValueError(f"The decoder is a {rnn_type.upper()} but the encoder "
                         f"{'gave' if cell is not None else 'did not give'} a cell state; "
                         "build both from one ModelConfig with build_model().")


def init_uniform(model: nn.Module) -> nn.Module:
    """Draw every parameter from uniform(-INIT_RANGE, INIT_RANGE); returns the model."""
    for param in model.parameters():
        nn.init.uniform_(param, -INIT_RANGE, INIT_RANGE)
    return model



def check_src_mask(enc_outputs: Tensor, src_mask: Tensor) -> None:
    """A decoder's source mask must be (S, B) like the encoder outputs, with a real token in every column."""
    if src_mask.shape != enc_outputs.shape[:2]:
        raise ValueError(f"src_mask {tuple(src_mask.shape)} must be (S, B) = {tuple(enc_outputs.shape[:2])}; "
                         "pass (src != pad_idx).")
    if not bool(src_mask.any(0).all()):
        raise ValueError("A source sentence is all padding; every column of src needs at least one real "
                         "token (numericalize adds <sos> and <eos>).")


__all__ = ["INIT_RANGE", "RNN_CLASSES", "make_rnn", "run_encoder_rnn", "split_state", "join_state",
           "check_cell_state", "init_uniform", "check_src_mask"]

"""Greedy decoding and beam search: exactness, batching, stopping, modes, validation."""
from __future__ import annotations

import pytest
import torch

from seq2seq_lib.models.attention import AttentionState
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.decode import beam_search, decoder_step, greedy_decode, select_state
from seq2seq_lib.models import build_model
from tolerance import FP32, FP32_DEEP

PAD, SOS, EOS = 1, 2, 3
KINDS = [("lstm", False), ("gru", True), ("lstm", True)]


def tiny_model(rnn_type: str, attention: bool, seed: int = 0, trg_vocab: int = 6, std: float = 1.0):
    """A tiny model with large random weights, so that its distributions are far from uniform."""
    torch.manual_seed(seed)
    config = ModelConfig(emb_dim=8, hidden_dim=8, n_layers=1, dropout=0.3, rnn_type=rnn_type,
                         attention=attention)
    model = (build_model if attention else build_model)(config, 12, trg_vocab, PAD, SOS)
    for param in model.parameters():
        torch.nn.init.normal_(param, 0.0, std)
    return model


def batch_of(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in seqs])
    src = torch.full((int(lengths.max()), len(seqs)), PAD, dtype=torch.long)
    for column, seq in enumerate(seqs):
        src[: len(seq), column] = torch.tensor(seq)
    return src, lengths


SRC, LENGTHS = batch_of([[SOS, 4, 5, 6, 7, 8, EOS], [SOS, 9, EOS], [SOS, 10, 11, 4, EOS], [SOS, 6, 6, EOS]])


def exhaustive_best(model, src: torch.Tensor, max_len: int) -> tuple[float, list[int]]:
    """Score every sequence up to max_len (ending in <eos>, or cut at max_len) by depth-first search."""
    best: tuple[float, list[int]] = (float("-inf"), [])
    model.eval()
    with torch.no_grad():
        def visit(token: int, state, prefix: list[int], score: float) -> None:
            nonlocal best
            log_probs, state, _ = decoder_step(model, torch.tensor([token]), state)
            for next_token, log_prob in enumerate(log_probs[0].tolist()):
                sequence, total = prefix + [next_token], score + log_prob
                if next_token == EOS or len(sequence) == max_len:
                    best = max(best, (total, sequence))
                else:
                    visit(next_token, state, sequence, total)
        visit(SOS, model.encode(src), [], 0.0)
    return best


@pytest.mark.parametrize("rnn_type,attention", KINDS)
def test_beam_size_one_equals_greedy(rnn_type, attention):
    model = tiny_model(rnn_type, attention, trg_vocab=9)
    greedy = greedy_decode(model, SRC, LENGTHS, max_len=12, sos_idx=SOS, eos_idx=EOS)
    beam = beam_search(model, SRC, LENGTHS, beam_size=1, max_len=12, sos_idx=SOS, eos_idx=EOS)
    assert beam.tokens == greedy.tokens
    raw = [s * len(t) for s, t in zip(beam.scores, beam.tokens)]  # undo length normalisation
    assert raw == pytest.approx(greedy.scores, abs=1e-4)
    if attention:
        for b, g in zip(beam.attention, greedy.attention):
            torch.testing.assert_close(b, g, **FP32_DEEP)


@pytest.mark.parametrize("rnn_type,attention", KINDS)
def test_large_beam_finds_the_exhaustive_optimum(rnn_type, attention):
    suboptimal_greedy = 0
    for seed in range(6):
        model = tiny_model(rnn_type, attention, seed=seed)
        src = SRC[:, seed % 4: seed % 4 + 1][: int(LENGTHS[seed % 4])]
        score, sequence = exhaustive_best(model, src, max_len=4)
        beam = beam_search(model, src, beam_size=130, max_len=4, sos_idx=SOS, eos_idx=EOS, length_penalty=0.0)
        assert beam.tokens[0] == sequence and beam.scores[0] == pytest.approx(score, abs=1e-4)
        greedy = greedy_decode(model, src, max_len=4, sos_idx=SOS, eos_idx=EOS)
        assert greedy.scores[0] <= score + 1e-4
        suboptimal_greedy += greedy.tokens[0] != sequence
    if not attention:  # with these seeds greedy misses the optimum, so the search did real work
        assert suboptimal_greedy >= 1


@pytest.mark.parametrize("rnn_type,attention", KINDS)
@pytest.mark.parametrize("beam_size", [None, 3])
def test_batched_equals_one_at_a_time(rnn_type, attention, beam_size):
    model = tiny_model(rnn_type, attention, trg_vocab=9, std=0.6)
    kwargs = dict(max_len=10, sos_idx=SOS, eos_idx=EOS)

    def run(src, lengths):
        if beam_size is None:
            return greedy_decode(model, src, lengths, **kwargs)
        return beam_search(model, src, lengths, beam_size=beam_size, length_penalty=0.7, **kwargs)

    batched = run(SRC, LENGTHS)
    for column, length in enumerate(LENGTHS.tolist()):
        single = run(SRC[:length, column:column + 1], LENGTHS[column:column + 1])
        assert single.tokens[0] == batched.tokens[column]
        assert single.scores[0] == pytest.approx(batched.scores[column], abs=1e-4)
        if attention:
            assert batched.attention[column].shape == (len(single.tokens[0]), length)
            torch.testing.assert_close(single.attention[0], batched.attention[column], **FP32_DEEP)
            torch.testing.assert_close(batched.attention[column].sum(1), torch.ones(len(single.tokens[0])), **FP32)


@pytest.mark.parametrize("rnn_type,attention", KINDS)
def test_max_len_and_stopping_at_eos(rnn_type, attention):
    model = tiny_model(rnn_type, attention)
    with torch.no_grad():
        model.decoder.fc_out.bias[EOS] = -1e4  # never <eos>: every output runs to max_len
    for decoded in (greedy_decode(model, SRC, LENGTHS, max_len=5, sos_idx=SOS, eos_idx=EOS),
                    beam_search(model, SRC, LENGTHS, beam_size=4, max_len=5, sos_idx=SOS, eos_idx=EOS)):
        assert [len(t) for t in decoded.tokens] == [5] * 4 and all(EOS not in t for t in decoded.tokens)
    steps = []
    model.decoder.embedding.register_forward_hook(lambda *args: steps.append(1))
    with torch.no_grad():
        model.decoder.fc_out.bias[EOS] = 1e4  # always <eos>: one step, then the loop stops
    for decoded in (greedy_decode(model, SRC, LENGTHS, max_len=30, sos_idx=SOS, eos_idx=EOS),
                    beam_search(model, SRC, LENGTHS, beam_size=4, max_len=30, sos_idx=SOS, eos_idx=EOS)):
        assert decoded.tokens == [[EOS]] * 4
    assert len(steps) == 2


@pytest.mark.parametrize("rnn_type,attention", KINDS)
def test_decoding_runs_in_eval_mode_without_grad_and_restores_the_mode(rnn_type, attention):
    model = tiny_model(rnn_type, attention).train()
    onednn = torch.backends.mkldnn.enabled
    seen = []
    model.decoder.embedding.register_forward_hook(lambda module, *args: seen.append(
        (module.training, torch.is_grad_enabled(), torch.backends.mkldnn.enabled)))
    first = greedy_decode(model, SRC, LENGTHS, max_len=8, sos_idx=SOS, eos_idx=EOS)
    again = greedy_decode(model, SRC, LENGTHS, max_len=8, sos_idx=SOS, eos_idx=EOS)  # dropout would differ
    beam_search(model, SRC, LENGTHS, beam_size=2, max_len=8, sos_idx=SOS, eos_idx=EOS)
    assert first == again if not attention else first.tokens == again.tokens
    assert seen and set(seen) == {(False, False, False)}  # fp32 on CPU: native RNN kernels
    assert model.training and torch.backends.mkldnn.enabled == onednn


def test_select_state_keeps_named_tuples_and_none():
    state = AttentionState(torch.zeros(2, 3, 4), None, torch.zeros(5, 3, 6), torch.zeros(5, 3, 4),
                           torch.ones(5, 3, dtype=torch.bool))
    picked = select_state(state, torch.tensor([2, 2, 0, 1]))
    assert isinstance(picked, AttentionState) and picked.cell is None
    assert picked.hidden.shape == (2, 4, 4) and picked.mask.shape == (5, 4)
    with pytest.raises(TypeError, match="tensors"):
        select_state([torch.zeros(1, 2)], torch.tensor([0]))
    model = tiny_model("lstm", False)
    with pytest.raises(ValueError, match="shape \\(batch,\\)"):
        decoder_step(model, torch.tensor([[SOS]]), model.encode(SRC))


@pytest.mark.parametrize("call,match", [
    (lambda m: greedy_decode(m, SRC, LENGTHS, max_len=0), "max_len"),
    (lambda m: greedy_decode(m, SRC.float(), LENGTHS), "LongTensor"),
    (lambda m: greedy_decode(m, SRC[:, 0], LENGTHS), "seq_len, batch"),
    (lambda m: greedy_decode(m, SRC, LENGTHS[:2]), "src_lengths"),
    (lambda m: greedy_decode(m, SRC, LENGTHS, eos_idx=99), "eos_idx"),
    (lambda m: greedy_decode("model", SRC, LENGTHS), "Seq2Seq"),
    (lambda m: beam_search(m, SRC, LENGTHS, beam_size=0), "beam_size"),
    (lambda m: beam_search(m, SRC, LENGTHS, length_penalty=-1.0), "length_penalty"),
])
def test_bad_arguments_name_the_problem(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(tiny_model("lstm", False))


@pytest.mark.parametrize("decode", [
    lambda m, src, lengths: greedy_decode(m, src, lengths, max_len=5, sos_idx=SOS, eos_idx=EOS),
    lambda m, src, lengths: beam_search(m, src, lengths, beam_size=3, max_len=5, sos_idx=SOS, eos_idx=EOS),
], ids=["greedy", "beam"])
@pytest.mark.parametrize("columns", [slice(None), slice(1, 2)], ids=["batched", "one sentence"])
@pytest.mark.parametrize("change, error, match", [
    (lambda src, lengths: (src.index_fill(0, torch.tensor([1]), 12), lengths), ValueError,
     r"src holds token ids outside \[0, 12\) \(from 1 to 12\).*same Vocab"),
    (lambda src, lengths: (src.index_fill(0, torch.tensor([1]), -3), lengths), ValueError,
     r"src holds token ids outside \[0, 12\) \(from -3 to .*same Vocab"),
    (lambda src, lengths: (src, lengths + SRC.shape[0]), ValueError, r"src_lengths must be in \[1, 7\]"),
    (lambda src, lengths: (src, lengths * 0), ValueError, r"src_lengths must be in \[1, 7\].*from 0 to 0"),
    (lambda src, lengths: (src, lengths.tolist()), TypeError, r"src_lengths must be a tensor.*torch.tensor"),
    (lambda src, lengths: (src, lengths.float()), TypeError, r"src_lengths must hold integers.*\.long\(\)"),
    (lambda src, lengths: (src, lengths.unsqueeze(0)), ValueError, r"src_lengths must have shape"),
], ids=["id too large", "negative id", "length beyond src", "zero length", "list", "float", "2-D"])
def test_ids_and_lengths_outside_the_source_are_refused_before_decoding(decode, columns, change, error, match):
    model = tiny_model("lstm", True)
    encoded = []
    model.encoder.embedding.register_forward_hook(lambda *args: encoded.append(1))
    src, lengths = change(SRC[:, columns].clone(), LENGTHS[columns].clone())
    with pytest.raises(error, match=match):
        decode(model, src, lengths)
    assert not encoded  # refused by the checks, not deep inside torch


def test_a_first_step_without_the_encoders_state_and_rows_as_a_list_name_the_fix():
    model = tiny_model("lstm", True)
    with pytest.raises(ValueError, match=r"state = model.encode\(src"):
        decoder_step(model, torch.tensor([SOS]), None)
    with pytest.raises(TypeError, match=r"index must be a 1-D tensor of batch rows"):
        select_state(torch.zeros(1, 3, 2), [0])

"""The context model (Cho et al., 2014): the encoder's summary reaches every decoder step."""
import pytest
import torch

from seq2seq_lib.checkpoint import ModelSpec, check_compatible, load_checkpoint, save_checkpoint
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.decode import beam_search, greedy_decode, select_state
from seq2seq_lib.models import ContextDecoder, ContextState, Encoder, build_model, count_parameters
from tolerance import FP32

SMALL = ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru", feed_context=True)


def small_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(SMALL, 31, 37).eval()


def test_the_published_sizes_give_the_published_parameter_count():
    # Ben Trevett's pytorch-seq2seq tutorial 2: embeddings 256, one GRU layer of 512, vocabularies 7,853 / 5,893
    config = ModelConfig(emb_dim=256, hidden_dim=512, n_layers=1, dropout=0.5, rnn_type="gru", feed_context=True)
    model = build_model(config, 7853, 5893)
    assert isinstance(model.encoder, Encoder) and isinstance(model.decoder, ContextDecoder)
    assert count_parameters(model) == 14_219_781


def test_the_context_is_the_encoders_top_hidden_state_and_never_changes():
    model = small_model()
    src = torch.randint(4, 31, (6, 3))
    state = model.encode(src)
    _, hidden, _ = model.encoder(src)
    assert isinstance(state, ContextState) and state.context.shape == (1, 3, 16)
    torch.testing.assert_close(state.context, hidden[-1:], **FP32)
    for token in (torch.full((3,), 2), torch.full((3,), 7)):
        _, new_state, weights = model.decoder.step(token, state)
        assert weights is None and torch.equal(new_state.context, state.context)
        assert not torch.equal(new_state.hidden, state.hidden)
        state = new_state


def test_every_step_reads_the_context():
    model = small_model()
    state = model.encode(torch.randint(4, 31, (6, 2)))
    token = torch.full((2,), 2)
    logits, _, _ = model.decoder.step(token, state)
    other, _, _ = model.decoder.step(token, state._replace(context=torch.zeros_like(state.context)))
    assert not torch.allclose(logits, other)  # the same hidden state, another context: other scores


def test_decoding_and_beam_rows_work_on_the_state():
    model = small_model()
    src = torch.randint(4, 31, (5, 3))
    lengths = torch.tensor([5, 5, 5])
    greedy = greedy_decode(model, src, lengths, max_len=8, sos_idx=2, eos_idx=3)
    beam_one = beam_search(model, src, lengths, beam_size=1, max_len=8, sos_idx=2, eos_idx=3)
    assert beam_one.tokens == greedy.tokens
    state = model.encode(src)
    picked = select_state(state, torch.tensor([2, 0]))
    assert isinstance(picked, ContextState) and torch.equal(picked.context[0, 0], state.context[0, 2])


def test_attention_and_context_together_are_refused():
    with pytest.raises(ValueError, match="at most one"):
        ModelConfig(attention=True, feed_context=True)
    with pytest.raises(ValueError, match="True or False"):
        ModelConfig(feed_context="yes")


def test_an_encoder_without_a_cell_state_for_an_lstm_decoder_is_refused():
    decoder = ContextDecoder(37, 8, 16, 1, 0.0, rnn_type="lstm")
    with pytest.raises(ValueError, match="decoder is a LSTM but the encoder did not give a cell state"):
        decoder.init_state(torch.zeros(4, 2, 16), torch.zeros(1, 2, 16), None, torch.ones(4, 2, dtype=torch.bool))


def test_checkpoints_from_before_the_context_option_still_match_their_config(tmp_path, sample_data):
    config = ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0)
    model = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    path = save_checkpoint(tmp_path / "old.pt", model=model, spec=sample_data.spec(config))
    checkpoint = load_checkpoint(path)
    del checkpoint["model_config"]["feed_context"]  # as written by a version without the option
    check_compatible(checkpoint, ModelSpec(config))
    with pytest.raises(ValueError, match="feed_context is True here but False"):
        check_compatible(checkpoint, ModelSpec(ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0,
                                                           feed_context=True)))

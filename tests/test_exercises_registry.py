"""Every notebook's exercises are registered, and each reports the `...` placeholder as not yet answered."""
import pytest

from seq2seq_lib.exercises import available, check

NOTEBOOK_EXERCISES = [
    "01.tokens", "01.count_en", "01.n_ids", "02.size", "02.itos",
    "02.unk", "03.shape", "03.first_row", "03.bucket_pads", "04.shapes",
    "04.encoder_params", "04.last_row", "04.forget_gate", "05.logits_shape", "05.softmax", "05.run_inputs",
    "05.perplexity", "05.uniform_perplexity", "05.temperature",
    "06.loss_slices", "06.fed_inputs", "06.n_tokens", "06.epochs_experiment", "07.best_epoch", "07.clip",
    "07.lr_experiment",
    "07.precision", "07.evaluate", "08.beam_step", "08.corpus_bleu", "08.brevity", "08.gnmt_penalty", "08.beam_bleu",
    "09.mask", "09.context", "09.params", "09.dot_scores", "09.dot_attention", "09.beam_attention",
    "10.first_merge", "10.apply_merges", "10.unk_rate", "10.detokenize", "10.size_experiment",
    "11.attention", "11.look_ahead", "11.head_shapes", "11.smoothing", "11.tying", "11.warmup", "11.post_norm",
    "A1.decoder_calls", "A1.projected_rows", "A1.ratio_experiment",
]


def test_every_notebook_exercise_is_registered():
    assert set(NOTEBOOK_EXERCISES) <= set(available())


@pytest.mark.parametrize("name", available())
def test_placeholder_is_not_yet_answered(name):
    feedback = check(name, ..., quiet=True)
    assert not feedback and "replace the `...`" in feedback.hint

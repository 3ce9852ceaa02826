"""Checkpoints saved by an earlier version of the library load and give the numbers they gave then."""
import json
from pathlib import Path

import pytest
import torch

from seq2seq_lib import fast as engine
from seq2seq_lib.checkpoint import load_checkpoint
from seq2seq_lib.translator import Translator

DATA = Path(__file__).resolve().parent / "data"
SCORED = json.loads((DATA / "saved_checkpoints.json").read_text())
SENTENCES = ["Zwei Hunde spielen im Schnee.", "Ein Mann fährt Fahrrad."]


@pytest.mark.parametrize("name", sorted(SCORED))
@pytest.mark.parametrize("fast", [False, True])
def test_a_checkpoint_from_before_the_engine_split_scores_as_it_did(name, fast, sample_data):
    checkpoint = load_checkpoint(DATA / f"saved_{name}.pt")
    translator = Translator.from_loaded(checkpoint, fast=fast)
    assert translator.src_field.vocab == sample_data.src_field.vocab  # the same sample, the same vocabularies
    model = translator.model.eval()
    batch = next(iter(sample_data.iterator("val", torch.device("cpu"), batch_size=64)))
    compute = engine.loss if fast else type(model).loss
    with torch.no_grad():
        for ratio in (0.0, 1.0):
            loss = compute(model, batch.src, batch.trg, ratio, batch.src_lengths)[0].item()
            assert loss == pytest.approx(SCORED[name][f"loss_ratio_{ratio:g}"], rel=1e-5), ratio
    assert translator.translate(SENTENCES) == SCORED[name]["greedy"]

"""Write the two small checkpoints that tests/test_saved_checkpoints.py loads, and what they scored.

The committed files were written by the library as it stood just before the textbook models and
the engine were split apart (with that version's builders and save_checkpoint arguments; this
script now speaks the current API), so the test proves that checkpoints saved before the change
still load and give the same numbers. Run from the repository root:
`python tests/data/make_saved_checkpoints.py` (it overwrites them).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from seq2seq_lib.checkpoint import save_checkpoint
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.prepare import prepare_data
from seq2seq_lib.translator import Translator
from seq2seq_lib.utils import set_seed

HERE = Path(__file__).resolve().parent
SENTENCES = ["Zwei Hunde spielen im Schnee.", "Ein Mann fährt Fahrrad."]
CONFIGS = {"classic": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=2, dropout=0.0),
           "attention": ModelConfig(emb_dim=8, hidden_dim=16, n_layers=1, dropout=0.0, rnn_type="gru",
                                    attention=True)}


def build(config: ModelConfig, data):
    return build_model(config, len(data.src_field.vocab), len(data.trg_field.vocab), data.pad_idx, data.sos_idx)


def scores(model, data) -> dict:
    """Teacher-forced and free-running loss on the sample's validation batches, and two greedy translations."""
    batch = next(iter(data.iterator("val", torch.device("cpu"), batch_size=64)))
    model.eval()
    with torch.no_grad():
        losses = {f"loss_ratio_{ratio:g}": model.loss(batch.src, batch.trg, ratio, batch.src_lengths)[0].item()
                  for ratio in (0.0, 1.0)}
    translator = Translator(model, data.src_field, data.trg_field)
    return losses | {"greedy": translator.translate(SENTENCES)}


def train_briefly(model, data, steps: int = 40) -> None:
    """A few Adam steps on the sample, so the weights are not just their random start."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = list(data.iterator("train", torch.device("cpu"), batch_size=32, seed=0))
    model.train()
    for step in range(steps):
        batch = batches[step % len(batches)]
        optimizer.zero_grad()
        model.loss(batch.src, batch.trg, 1.0, batch.src_lengths)[0].backward()
        optimizer.step()


def main() -> None:
    data = prepare_data("ci", use_sample=True)
    expected = {}
    for name, config in CONFIGS.items():
        set_seed(0)
        model = build(config, data)
        train_briefly(model, data)
        save_checkpoint(HERE / f"saved_{name}.pt", model=model, spec=data.spec(config))
        expected[name] = scores(model, data)
    (HERE / "saved_checkpoints.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()

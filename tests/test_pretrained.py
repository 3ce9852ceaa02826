"""Pretrained models: the shipped files match their hashes and load without running code; export
and load round-trip; damaged, missing or unknown models fail with the fix."""
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from seq2seq_lib.checkpoint import save_checkpoint
from seq2seq_lib.config import ModelConfig
from seq2seq_lib.models import build_model
from seq2seq_lib.pretrained import (FILES, FOLDER, MANIFEST, WEIGHTS, PretrainedError, available, describe,
                                    export_pretrained, load_pretrained, read_manifest, sha256,
                                    showcase_translator)
from seq2seq_lib.translator import Translator

SHIPPED = ("attention", "classic", "transformer")
WEIGHT_BUDGET = 40_000_000  # bytes: every shipped weight file together
TINY = ModelConfig(emb_dim=16, hidden_dim=24, n_layers=1, dropout=0.0)


def test_the_shipped_models_are_listed_and_described():
    assert set(SHIPPED) <= set(available())
    assert all(describe()[name] for name in SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_match_their_recorded_hashes(name):
    recorded = read_manifest()["models"][name]["files"]
    assert set(recorded) == set(FILES)
    for file, digest in recorded.items():
        assert sha256((FOLDER / name / file).read_bytes()) == digest, f"{name}/{file}"


def test_shipped_weights_stay_within_the_budget():
    total = sum((FOLDER / name / WEIGHTS).stat().st_size for name in available())
    assert total <= WEIGHT_BUDGET, f"{total / 1e6:.2f} MB of weights; the budget is 40 MB"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_are_plain_fp16_tensors_that_fit_the_model(name):
    with safe_open(FOLDER / name / WEIGHTS, framework="pt") as weights:  # safetensors: data only, no code
        tensors = {key: weights.get_tensor(key) for key in weights.keys()}
    assert all(t.dtype == torch.float16 for t in tensors.values())
    checkpoint = load_pretrained(name)
    model = build_model(ModelConfig(**checkpoint["model_config"]), len(checkpoint["src_vocab"]["itos"]),
                        len(checkpoint["trg_vocab"]["itos"]))
    tied = json.loads((FOLDER / name / "config.json").read_text()).get("tied", {})
    assert set(model.state_dict()) == set(tensors) | set(tied) and not set(tensors) & set(tied)
    model.load_state_dict(checkpoint["model_state"])  # strict: every parameter present, every shape right


@pytest.mark.parametrize("name", SHIPPED)
def test_pretrained_models_translate(name):
    translator = Translator.from_pretrained(name)
    english = translator.translate("Ein Mann fährt Fahrrad.")
    assert "man" in english.split() and len(english.split()) >= 4


@pytest.fixture()
def exported(tmp_path, sample_data):
    """A tiny model trained on nothing, exported into a temporary pretrained folder."""
    torch.manual_seed(0)
    model = build_model(TINY, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=sample_data.spec(TINY))
    folder = tmp_path / "pretrained"
    export_pretrained(path, "tiny", "a test model", {"command": "none"}, folder=folder)
    return model, folder


def test_export_then_load_round_trips_through_fp16(exported):
    model, folder = exported
    assert available(folder) == ["tiny"] and describe(folder) == {"tiny": "a test model"}
    loaded = load_pretrained("tiny", folder=folder)
    for key, tensor in model.state_dict().items():
        assert loaded["model_state"][key].dtype == torch.float32
        assert torch.equal(loaded["model_state"][key], tensor.half().float()), key
    assert json.loads((folder / "tiny" / "config.json").read_text())["training"] == {"command": "none"}


def test_tied_weights_are_stored_once_and_tied_again_on_loading(tmp_path, sample_data):
    config = ModelConfig(transformer=True, emb_dim=16, hidden_dim=32, n_layers=1, n_heads=2, dropout=0.0)
    torch.manual_seed(0)
    model = build_model(config, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=sample_data.spec(config))
    export_pretrained(path, "tied", "a tied test model", {}, folder=tmp_path / "pretrained")
    with safe_open(tmp_path / "pretrained" / "tied" / WEIGHTS, framework="pt") as weights:
        stored = set(weights.keys())
    assert "decoder.fc_out.weight" not in stored and "decoder.embedder.embedding.weight" in stored
    translator = Translator.from_loaded(load_pretrained("tied", folder=tmp_path / "pretrained"))
    decoder = translator.model.decoder
    assert decoder.fc_out.weight is decoder.embedding.weight
    torch.testing.assert_close(decoder.fc_out.weight, model.decoder.fc_out.weight.half().float(), rtol=0, atol=0)


def test_a_changed_file_is_refused_before_it_is_read(exported):
    _, folder = exported
    weights = folder / "tiny" / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(PretrainedError, match="does not match the SHA-256.*Reinstall"):
        load_pretrained("tiny", folder=folder)


def test_a_missing_file_names_the_fix(exported):
    _, folder = exported
    (folder / "tiny" / "vocab.en.json").unlink()
    with pytest.raises(PretrainedError, match="vocab.en.json is missing; reinstall"):
        load_pretrained("tiny", folder=folder)


def test_an_unknown_name_lists_the_available_ones(exported):
    _, folder = exported
    with pytest.raises(PretrainedError, match="No pretrained model named 'big'; available: 'tiny'"):
        load_pretrained("big", folder=folder)
    with pytest.raises(PretrainedError, match="available: 'attention', 'classic', 'transformer'"):
        Translator.from_pretrained("mamba")


def test_a_damaged_manifest_names_the_fix(exported):
    _, folder = exported
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(PretrainedError, match="damaged.*reinstall"):
        available(folder)


def test_export_refuses_a_bad_name_or_weights_beyond_fp16(tmp_path, sample_data):
    model = build_model(TINY, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    with torch.no_grad():
        model.decoder.embedding.weight[0, 0] = 1e6
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=sample_data.spec(TINY))
    with pytest.raises(ValueError, match="identifier"):
        export_pretrained(path, "no good", "", {}, folder=tmp_path / "out")
    with pytest.raises(ValueError, match="beyond fp16's range"):
        export_pretrained(path, "big", "", {}, folder=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_second_export_keeps_the_first(exported, tmp_path):
    _, folder = exported
    shutil.copy(tmp_path / "best.pt", tmp_path / "again.pt")
    export_pretrained(tmp_path / "again.pt", "other", "another", {}, folder=folder)
    assert available(folder) == ["other", "tiny"]
    first, second = (load_pretrained(name, folder=folder)["model_state"] for name in ("tiny", "other"))
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_showcase_uses_the_checkpoint_only_when_asked_and_present(tmp_path, sample_data):
    model = build_model(TINY, len(sample_data.src_field.vocab), len(sample_data.trg_field.vocab))
    path = save_checkpoint(tmp_path / "best.pt", model=model, spec=sample_data.spec(TINY))
    mine, label = showcase_translator("classic", path, use_checkpoint=True)
    assert label == f"your model ({path})" and mine.model.encoder.embedding.num_embeddings == len(sample_data.src_field.vocab)
    for checkpoint, use in ((path, False), (tmp_path / "missing.pt", True), (None, True)):
        shown, label = showcase_translator("classic", checkpoint, use_checkpoint=use)
        assert label.startswith("pretrained 'classic'") and shown.src_field.reverse  # the classic reads reversed


def documented_scores() -> dict[str, dict[str, str]]:
    """The rows of docs/results.md's table of shipped models, by model name and column."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "results.md").read_text(encoding="utf-8")
    section = text.split("## Shipped pretrained models", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    header, body = rows[0], rows[1:]
    return {row[0]: dict(zip(header, row)) for row in body}


@pytest.mark.multi30k
@pytest.mark.parametrize("name", SHIPPED)
def test_evaluating_a_shipped_model_reproduces_docs_results(name, multi30k_dir):
    from seq2seq_lib.evaluation import evaluate_pretrained

    documented = documented_scores()[name]
    results = evaluate_pretrained(name, root=multi30k_dir)  # greedy, fp32, the whole test set
    assert results["sentences"] == 1000
    assert documented["test ppl (teacher-forced)"] == f"{results['perplexity_teacher_forced']:.2f}"
    assert documented["token BLEU greedy"] == f"{results['bleu_tokens']:.2f}"
    assert documented["sacreBLEU greedy"] == f"{results['bleu_sacrebleu']:.2f}"
    assert documented["chrF greedy"] == f"{results['chrf']:.2f}"
    assert float(documented["token BLEU greedy"]) >= {"attention": 28.0, "classic": 15.0, "transformer": 38.0}[name]


@pytest.mark.multi30k
def test_the_shipped_transformer_gains_from_beam_search(multi30k_dir):
    from seq2seq_lib.data import load_multi30k
    from seq2seq_lib.metrics import evaluate_bleu

    translator = Translator.from_pretrained("transformer")
    pairs = load_multi30k("test", root=multi30k_dir)
    greedy, beam = (evaluate_bleu(translator, pairs, beam_size=k).token_bleu for k in (1, 5))
    assert documented_scores()["transformer"]["token BLEU beam 5"] == f"{beam:.2f}"
    assert beam > greedy >= 38.0

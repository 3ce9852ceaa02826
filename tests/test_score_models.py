"""seq2seq_lib.scoring and tools/score_models.py: one scoring protocol for every model, with intervals and paired p-values."""
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from seq2seq_lib.batching import pad_collate
from seq2seq_lib.config import ModelConfig, get_profile
from seq2seq_lib.data import load_sample
from seq2seq_lib.evaluation import evaluate_loss
from seq2seq_lib.metrics import evaluate_bleu, word_tokens
from seq2seq_lib.models import build_model
from seq2seq_lib.prepare import numericalize_pairs, prepare_data
from seq2seq_lib import scoring
from seq2seq_lib.translator import Translator
from test_pretrained import SHIPPED, documented_scores

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import score_models  # noqa: E402

PAIRS = load_sample()[:40]  # caption-style German/English pairs: enough to exercise everything quickly


@pytest.fixture(scope="module")
def report():
    return scoring.score_models(["attention", "classic"], PAIRS, beams=(1, 2), n_resamples=200)


def test_every_model_and_decoding_gets_every_metric_with_an_interval(report):
    assert [(row["label"], row["beam_size"]) for row in report["models"]] == [
        ("attention", 1), ("attention", 2), ("classic", 1), ("classic", 2)]
    for row in report["models"]:
        assert row["vocabulary"] == "words" and row["sentences"] == len(PAIRS) and len(row["hypotheses"]) == len(PAIRS)
        for name in scoring.NAMES:
            assert row[name]["low"] <= row[name]["value"] <= row[name]["high"], (row["label"], name)
    assert report["sacrebleu_signature"].startswith("nrefs:1|case:lc|") and "nc:6" in report["chrf_signature"]
    assert report["models"][0]["p_vs_baseline"] is None  # the first model is the baseline by default
    assert all(0.0 <= p <= 1.0 for row in report["models"][2:] for p in row["p_vs_baseline"].values())


def test_the_protocol_gives_the_numbers_evaluate_gives(report):
    translator = Translator.from_pretrained("attention")
    bleu = evaluate_bleu(translator, PAIRS)  # what `python -m seq2seq_lib evaluate` reports
    greedy = report["models"][0]
    assert greedy["hypotheses"] == bleu.hypotheses
    assert greedy["token_bleu"]["value"] == bleu.token_bleu
    assert greedy["sacrebleu"]["value"] == bleu.sacre.score and greedy["chrf"]["value"] == bleu.chrf.score
    assert greedy["sacrebleu_signature"] == bleu.sacre.signature
    examples = numericalize_pairs(PAIRS, translator.src_field, translator.trg_field)
    batches = [pad_collate(examples, translator.trg_field.vocab[translator.trg_field.pad_token])]
    loss = evaluate_loss(translator.model, batches, "cpu", teacher_forcing_ratio=1.0)["loss"]
    assert math.isclose(math.log(greedy["perplexity_teacher_forced"]["value"]), loss, rel_tol=1e-6)


def test_per_sentence_nll_comes_back_in_the_order_of_the_pairs():
    translator = Translator.from_pretrained("classic")
    nll, tokens = scoring.teacher_forced_nll(translator, PAIRS, batch_size=8)  # batches sorted by length
    for i in (0, 17, 39):
        alone, count = scoring.teacher_forced_nll(translator, PAIRS[i:i + 1])
        assert count[0] == tokens[i] and math.isclose(alone[0], nll[i], rel_tol=1e-5)


def test_a_subword_model_is_scored_on_words_as_evaluate_scores_it():
    profile = get_profile("ci")
    data = prepare_data(replace(profile, data=replace(profile.data, subwords=400)), use_sample=True)
    torch.manual_seed(0)
    config = ModelConfig(emb_dim=16, hidden_dim=24, n_layers=1, dropout=0.0, rnn_type="gru", attention=True)
    model = build_model(config, len(data.src_field.vocab), len(data.trg_field.vocab))
    translator = Translator(model, data.src_field, data.trg_field)
    assert scoring.vocabulary_kind(translator.trg_field) == "subwords"
    assert scoring.vocabulary_kind(Translator.from_pretrained("classic").trg_field) == "words"
    scored = scoring.score_translator(translator, PAIRS[:12], n_resamples=20)
    bleu = evaluate_bleu(translator, PAIRS[:12])
    assert scored.record["vocabulary"] == "subwords" and scored.record["hypotheses"] == bleu.hypotheses
    assert scored.record["token_bleu"]["value"] == bleu.token_bleu and scored.record["chrf"]["value"] == bleu.chrf.score
    assert scored.statistics["token_bleu"].rows[:, -2].tolist() == [len(w) for w in word_tokens(bleu.hypotheses)]


def test_the_markdown_table_has_one_row_per_model_and_decoding(report):
    table = scoring.markdown_table({**report, "pairs": [{"a": "attention", "b": "classic", "beam_size": 1,
                                                              "token_bleu": 0.0, "sacrebleu": 0.0, "chrf": 0.5}]})
    lines = table.splitlines()
    assert lines[0].startswith("| model | decoding | parameters | vocabulary | test ppl (teacher-forced) [95% CI]")
    assert lines[0].endswith("| p vs attention (token BLEU / sacreBLEU / chrF) |")
    assert lines[2].startswith("| attention | greedy | 5.45M | words (5,374 / 4,556) |") and lines[2].endswith(
        "| baseline |")
    assert lines[5].startswith("| classic | beam 2 | 6.55M |")
    assert "| attention | classic | greedy | < 0.005 | < 0.005 | 0.500 |" in lines  # p = 0 of 200 resamples
    assert report["sacrebleu_signature"] in table


def test_the_command_writes_the_table_and_json_and_updates_only_the_marked_section(tmp_path, monkeypatch):
    monkeypatch.setattr(score_models, "load_multi30k", lambda split, subset=None: PAIRS[:subset])
    doc = tmp_path / "results.md"
    doc.write_text(f"# Results\n\nbefore\n{score_models.BEGIN}\nold table\n{score_models.END}\nafter\n")
    args = ["attention", "old=classic", "--beams", "1", "--limit", "20", "--resamples", "50", "--baseline", "old",
            "--all-pairs", "--out", str(tmp_path / "out"), "--update-docs", str(doc)]
    assert score_models.main(args) == 0
    saved = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert saved["baseline"] == "old" and saved["sentences"] == 20 and len(saved["pairs"]) == 2
    assert saved["command"].startswith("python tools/score_models.py attention old=classic --beams 1")
    table = (tmp_path / "out" / "scores.md").read_text()
    text = doc.read_text()
    assert text.startswith("# Results\n\nbefore\n") and text.endswith(f"{score_models.END}\nafter\n")
    assert "old table" not in text and table in text
    score_models.main(args)  # again: the section is replaced, not added to
    again = doc.read_text()
    assert again.count(score_models.BEGIN) == 1 and again.count("| model | decoding |") == 1
    assert again.split("```bash")[0] == text.split("```bash")[0]  # the same seed gives the same table
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_bad_models_baselines_and_markers_are_refused_with_the_fix(tmp_path):
    assert scoring.parse_model("attention") == ("attention", "attention")
    assert scoring.parse_model("mine=pretrained:classic") == ("mine", "classic")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "best.pt").write_bytes(b"")
    assert scoring.parse_model(str(tmp_path / "run" / "best.pt"))[0] == "run"
    with pytest.raises(scoring.ScoringError, match="neither a shipped model.*LABEL=.*SOURCE"):
        scoring.parse_model("mamba")
    with pytest.raises(scoring.ScoringError, match="share a label"):
        scoring.score_models(["attention", "attention"], PAIRS)
    with pytest.raises(scoring.ScoringError, match="baseline 'cho' is not among"):
        scoring.score_models(["attention"], PAIRS, baseline="cho")
    doc = tmp_path / "results.md"
    doc.write_text("# Results\n")
    with pytest.raises(scoring.ScoringError, match="needs exactly one .*score_models:begin.*add them"):
        score_models.update_marked_section(doc, "table\n")
    assert doc.read_text() == "# Results\n"
    with pytest.raises(SystemExit, match="needs exactly one"):  # the command checks the file before it scores
        score_models.main(["attention", "--update-docs", str(doc)])
    with pytest.raises(SystemExit, match="neither a shipped model"):
        score_models.main(["mamba", "--limit", "2"])


@pytest.mark.multi30k
def test_the_full_test_set_reproduces_the_documented_scores_of_the_shipped_models(multi30k_dir):
    from seq2seq_lib.data import load_multi30k

    report = scoring.score_models(list(SHIPPED), load_multi30k("test", multi30k_dir), beams=(1,), n_resamples=50)
    documented = documented_scores()
    for row in report["models"]:
        expected = documented[row["label"]]
        assert row["sentences"] == 1000
        assert f"{row['token_bleu']['value']:.2f}" == expected["token BLEU greedy"]
        assert f"{row['sacrebleu']['value']:.2f}" == expected["sacreBLEU greedy"]
        assert f"{row['chrf']['value']:.2f}" == expected["chrF greedy"]
        assert f"{row['perplexity_teacher_forced']['value']:.2f}" == expected["test ppl (teacher-forced)"]


def test_one_model_name_where_a_list_belongs_is_refused():
    from seq2seq_lib.scoring import ScoringError, score_models

    with pytest.raises(ScoringError, match=r"models must be a non-empty list such as \['classic', 'attention'\]"):
        score_models("classic", [("Ein Hund.", "A dog.")])

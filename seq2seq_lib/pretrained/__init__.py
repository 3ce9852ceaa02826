"""Small translators trained on all of Multi30k, shipped inside the package so they work offline.

Each model is a folder here: `model.safetensors` (the weights, stored in fp16; safetensors
holds only tensors, so reading it runs no code), `config.json` (model and data configs, and
how it was trained) and `vocab.de.json` / `vocab.en.json` (`Vocab.to_dict()`; for a model trained
on subwords these also hold the sentencepiece model, as base64 text, from which `Translator`
rebuilds the subword fields). `manifest.json` records the SHA-256 of every file; `load_pretrained`
checks them before it reads anything.

    from seq2seq_lib import Translator
    Translator.from_pretrained("attention").translate("Zwei Hunde spielen im Schnee.")

`tools/train_pretrained.py` retrains them from scratch with the command line and writes these files.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from ..checkpoint import FORMAT as CHECKPOINT_FORMAT
from ..utils import usable_device

FOLDER = Path(__file__).resolve().parent
MANIFEST = "manifest.json"
FORMAT = "seq2seq_lib.pretrained/1"
WEIGHTS, CONFIG = "model.safetensors", "config.json"
VOCABS = {"src_vocab": "vocab.de.json", "trg_vocab": "vocab.en.json"}
FILES = (WEIGHTS, CONFIG, *VOCABS.values())


class PretrainedError(ValueError):
    """A pretrained model that is unknown, missing or whose files do not match their recorded hashes."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: str | os.PathLike = FOLDER) -> dict:
    """The manifest: {"format": ..., "models": {name: {"files": {file: sha256}, "description": ...}}}."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {"format": FORMAT, "models": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise PretrainedError(f"{path} is damaged ({error}); reinstall seq2seq-lib, or rewrite it with "
                              "tools/train_pretrained.py.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PretrainedError(f"{path} is not a {FORMAT} manifest; reinstall seq2seq-lib.")
    return manifest


def available(folder: str | os.PathLike = FOLDER) -> list[str]:
    """Names of the shipped models, e.g. ['attention', 'classic']."""
    return sorted(read_manifest(folder)["models"])


def describe(folder: str | os.PathLike = FOLDER) -> dict[str, str]:
    """{name: one-line description} of the shipped models."""
    return {name: entry.get("description", "") for name, entry in sorted(read_manifest(folder)["models"].items())}


def _verified_bytes(folder: Path, name: str, recorded: dict[str, str]) -> dict[str, bytes]:
    """Every file of model `name`, read once and checked against its recorded SHA-256."""
    contents = {}
    for file in FILES:
        path = folder / name / file
        if file not in recorded:
            raise PretrainedError(f"The manifest records no hash for {name}/{file}; reinstall seq2seq-lib.")
        if not path.is_file():
            raise PretrainedError(f"{path} is missing; reinstall seq2seq-lib (the pretrained files ship with it).")
        data = path.read_bytes()
        if sha256(data) != recorded[file]:
            raise PretrainedError(f"{path} does not match the SHA-256 recorded in {MANIFEST}: the file is "
                                  "damaged or was replaced. Reinstall seq2seq-lib.")
        contents[file] = data
    return contents


def load_pretrained(name: str, device: torch.device | str = "cpu",
                    folder: str | os.PathLike = FOLDER) -> dict:
    """Pretrained model `name` as a checkpoint dict (what `load_checkpoint` returns), weights in fp32.

    The files are checked against the manifest's hashes first; the weights are read with
    safetensors, which cannot run code.
    """
    from safetensors.torch import load as load_safetensors

    folder = Path(folder)
    models = read_manifest(folder)["models"]
    if not isinstance(name, str) or name not in models:
        names = ", ".join(repr(n) for n in sorted(models)) or "none (the package was installed without them)"
        raise PretrainedError(f"No pretrained model named {name!r}; available: {names}.")
    device = usable_device(device)
    contents = _verified_bytes(folder, name, models[name]["files"])
    config = json.loads(contents[CONFIG].decode("utf-8"))
    if config.get("format") != FORMAT:
        raise PretrainedError(f"{folder / name / CONFIG} is not a {FORMAT} config; reinstall seq2seq-lib.")
    weights = load_safetensors(contents[WEIGHTS])
    checkpoint = {"format": CHECKPOINT_FORMAT, "model_config": config["model_config"],
                  "data_config": config["data_config"], "train_config": config.get("train_config"),
                  "model_state": _untie({k: v.float().to(device) for k, v in weights.items()}, config.get("tied", {})),
                  "epoch": int(config.get("epoch", 0)), "history": None, "optimizer_state": None,
                  "extra": {"pretrained": name}}
    for key, file in VOCABS.items():
        checkpoint[key] = json.loads(contents[file].decode("utf-8"))
    return checkpoint


def _untie(state: dict, tied: dict) -> dict:
    """The state dict with every tied entry (stored once) under each of its names again."""
    for key, source in tied.items():
        if source not in state:
            raise PretrainedError(f"The weights tie {key} to {source!r}, which the file lacks; reinstall seq2seq-lib.")
        state[key] = state[source]
    return state


def showcase_translator(name: str, checkpoint: str | os.PathLike | None = None, use_checkpoint: bool = False,
                        device: torch.device | str = "cpu") -> tuple:
    """(translator, label) for a notebook to show: the learner's checkpoint, or the shipped model `name`.

    The checkpoint is used when `use_checkpoint` (e.g. in the `full` profile) and the file exists;
    otherwise the pretrained model, so that a notebook always shows a model that translates.
    """
    from ..translator import Translator

    if checkpoint is not None and use_checkpoint and Path(checkpoint).is_file():
        return Translator.from_checkpoint(checkpoint, device=device), f"your model ({checkpoint})"
    translator = Translator.from_pretrained(name, device=device)
    return translator, f"pretrained {name!r} (all 29,000 training pairs)"


def export_pretrained(checkpoint_path: str | os.PathLike, name: str, description: str, training: dict,
                      folder: str | os.PathLike = FOLDER) -> dict[str, str]:
    """Write the best.pt at `checkpoint_path` as pretrained model `name` (fp16 weights) and record its hashes.

    `training` (e.g. the command, seed, time and hardware) goes into config.json as it is.
    Returns {file: sha256}. Every file is written atomically and the manifest last.
    """
    from safetensors.torch import save as save_safetensors

    from ..checkpoint import load_checkpoint, model_from_checkpoint, tied_entries
    from ..files import write_atomically, write_json

    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a short identifier such as 'attention', got {name!r}.")
    checkpoint = load_checkpoint(checkpoint_path)
    model_from_checkpoint(checkpoint)  # the weights fit the configs and vocabularies before anything is written
    tied = tied_entries(checkpoint["model_state"])  # a tied matrix (the Transformer's output layer): stored once
    weights = {}
    for key, tensor in checkpoint["model_state"].items():
        if key in tied:
            continue
        half = tensor.detach().to("cpu", torch.float16).contiguous()
        if not torch.isfinite(half).all():
            raise ValueError(f"{key} holds values beyond fp16's range (65504); it cannot ship in fp16.")
        weights[key] = half
    config = {"format": FORMAT, "name": name, "description": description,
              "model_config": checkpoint["model_config"], "data_config": checkpoint["data_config"],
              "train_config": checkpoint["train_config"], "epoch": checkpoint["epoch"],
              "best_val_loss": checkpoint.get("best_val_loss"), "training": training, "tied": tied}
    contents = {WEIGHTS: save_safetensors(weights),
                CONFIG: json.dumps(config, indent=1, ensure_ascii=False).encode("utf-8")}
    for key, file in VOCABS.items():
        contents[file] = json.dumps(checkpoint[key], ensure_ascii=False).encode("utf-8")
    folder = Path(folder)
    for file, data in contents.items():
        write_atomically(folder / name / file, lambda handle, data=data: handle.write(data))
    manifest = read_manifest(folder)
    hashes = {file: sha256(data) for file, data in contents.items()}
    manifest["models"][name] = {"description": description, "files": hashes}
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_json(folder / MANIFEST, manifest)
    return hashes


__all__ = ["FOLDER", "FORMAT", "PretrainedError", "available", "describe", "load_pretrained",
           "showcase_translator", "export_pretrained", "read_manifest"]

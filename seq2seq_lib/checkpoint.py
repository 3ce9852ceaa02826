"""Checkpoints: everything needed to translate with a model or resume its training exactly.

A checkpoint is a plain dict (configs as dicts, vocabularies as `Vocab.to_dict()`, which for a
subword vocabulary holds its sentencepiece model as base64 text, RNG states as lists and
tensors) saved with `torch.save` and read back with `weights_only=True`, so loading one never
runs code. Files are written atomically: a temp file in the same
directory, then `os.replace`, so an interrupted save never leaves a half-written checkpoint.
"""
from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import DataConfig, ModelConfig, TrainConfig
from .files import write_atomically
from .utils import DeviceError, available_device

FORMAT = "seq2seq_lib.checkpoint/1"
LOAD_ON_CPU = "load it with map_location='cpu' (the file itself is fine)."  # the fix for a missing device


class CheckpointError(ValueError):
    """A checkpoint is unreadable or does not fit the model/data at hand; the message says why."""


def _as_dict(config: Any, kind: type) -> dict | None:
    if config is None:
        return None
    if not isinstance(config, kind):
        raise ValueError(f"Expected a {kind.__name__}, got {type(config).__name__}.")
    return asdict(config)


def _vocab_dict(vocab: Any) -> dict | None:
    if vocab is None or isinstance(vocab, dict):
        return vocab
    if not hasattr(vocab, "to_dict"):
        raise ValueError(f"Expected a Vocab (with .to_dict()), got {type(vocab).__name__}.")
    return vocab.to_dict()


def rng_state() -> dict:
    """Python's, NumPy's and torch's (CPU and CUDA) random states, in a weights_only-safe form."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"python": random.getstate(),
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    """Restore the states saved by `rng_state` (CUDA ones only where the same GPUs exist)."""
    missing = [key for key in ("python", "numpy", "torch", "cuda") if not isinstance(state, dict) or key not in state]
    if missing:
        raise ValueError(f"Not a random state saved by rng_state() (missing {', '.join(missing)}); pass "
                         "checkpoint['rng_state'] of a checkpoint written with an optimizer (last.pt).")
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


@dataclass(frozen=True)
class ModelSpec:
    """A model apart from its weights: its config, the vocabularies it reads and writes, the data config.

    A checkpoint records it, so a translator can be rebuilt from the file alone and a resumed run
    can check that it continues the same model on the same data.
    """

    model_config: ModelConfig
    src_vocab: Any = None
    trg_vocab: Any = None
    data_config: DataConfig | None = None

    def __post_init__(self) -> None:
        _as_dict(self.model_config, ModelConfig)
        _as_dict(self.data_config, DataConfig)
        _vocab_dict(self.src_vocab), _vocab_dict(self.trg_vocab)


def save_checkpoint(path: str | os.PathLike, *, model: nn.Module, spec: ModelSpec,
                    train_config: TrainConfig | None = None, epoch: int = 0, history: Any = None,
                    optimizer: torch.optim.Optimizer | None = None, scaler: Any = None,
                    extra: dict | None = None) -> Path:
    """Write a checkpoint atomically to `path` and return it; `epoch` counts completed epochs.

    With an `optimizer` it is a checkpoint to resume from: the optimizer's and scaler's states and
    every random generator's state are saved too.
    """
    if not isinstance(spec, ModelSpec):
        raise ValueError(f"spec must be a ModelSpec(model_config, src_vocab, trg_vocab, data_config), "
                         f"got {type(spec).__name__}.")
    _check_vocab_sizes(model, spec.src_vocab, spec.trg_vocab)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be the number of completed epochs (an integer >= 0), got {epoch!r}.")
    if hasattr(history, "to_dict"):  # the History that fit returns
        history = history.to_dict()
    if history is not None and not isinstance(history, dict):
        raise TypeError(f"history must be a History (what fit returns) or its to_dict(), got {type(history).__name__}.")
    val_losses = [loss for loss in (history or {}).get("val_loss") or [] if loss == loss]  # NaN: not measured
    checkpoint = {
        "format": FORMAT,
        "model_config": _as_dict(spec.model_config, ModelConfig),
        "train_config": _as_dict(train_config, TrainConfig),
        "data_config": _as_dict(spec.data_config, DataConfig),
        "src_vocab": _vocab_dict(spec.src_vocab),
        "trg_vocab": _vocab_dict(spec.trg_vocab),
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "scaler_state": scaler.state_dict() if scaler is not None else None,
        "rng_state": rng_state() if optimizer is not None else None,
        "epoch": int(epoch),
        "history": history,
        "best_val_loss": min(val_losses, default=None),
        "extra": extra or {},
    }
    return write_atomically(path, lambda file: torch.save(checkpoint, file))


def _check_vocab_sizes(model: nn.Module, src_vocab: Any, trg_vocab: Any) -> None:
    """Refuse vocabularies whose sizes differ from the model's source embedding or output layer."""
    encoder, decoder = getattr(model, "encoder", None), getattr(model, "decoder", None)
    sizes = (("src_vocab", src_vocab, "source embedding", getattr(getattr(encoder, "embedding", None),
                                                                   "num_embeddings", None)),
             ("trg_vocab", trg_vocab, "output layer", getattr(decoder, "vocab_size", None)))
    for name, vocab, part, model_size in sizes:
        size = _vocab_size(_vocab_dict(vocab))
        if size is not None and model_size is not None and size != model_size:
            raise CheckpointError(
                f"{name} has {size} entries but the model's {part} is built for {model_size}, so the "
                "checkpoint could never be loaded. Save the vocabularies the model was built with "
                "(build_model(config, len(src_vocab), len(trg_vocab))).")


def tied_entries(state: dict) -> dict[str, str]:
    """{name: earlier name} for every state-dict entry that shares its tensor with an earlier one (weight tying).

    >>> shared = torch.zeros(2)
    >>> tied_entries({"a": shared, "b": torch.zeros(2), "c": shared})
    {'c': 'a'}
    """
    first: dict[tuple, str] = {}
    tied = {}
    for key, tensor in state.items():
        where = (tensor.data_ptr(), tensor.shape, tensor.stride())
        if where in first:
            tied[key] = first[where]
        else:
            first[where] = key
    return tied


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint`; clear errors for missing/corrupt/foreign files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}; check the path, or train first "
                                "(fit() writes best.pt and last.pt into its out_dir).")
    if isinstance(map_location, (str, torch.device)):  # a dict or function is torch's to check
        map_location = available_device(map_location, LOAD_ON_CPU)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError as error:
        raise CheckpointError(f"{path} exists but cannot be read ({error}); check its permissions.") from error
    except Exception as error:  # the unpickler reports damage as EOFError, KeyError, RuntimeError, ...
        if "deserialize object on" in str(error):  # a good file saved on a device this machine lacks
            raise DeviceError(f"{path} holds tensors saved on a device that is not available here", LOAD_ON_CPU
                              ) from error
        raise CheckpointError(
            f"{path} is corrupt, truncated or not a PyTorch file ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200] if str(error) else 'no details'}). Delete it and use "
            "another checkpoint (e.g. best.pt or last.pt) or train again.") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise CheckpointError(
            f"{path} is a PyTorch file but not a {FORMAT} checkpoint (found {found!r}). "
            "A bare state_dict loads with model.load_state_dict(torch.load(path)); "
            "checkpoints for this series come from save_checkpoint() or fit().")
    return checkpoint


def _vocab_size(vocab: Any) -> int | None:
    if vocab is None:
        return None
    return len(vocab["itos"]) if isinstance(vocab, dict) else len(vocab)


def _check_loaded(checkpoint: Any, function: str) -> None:
    """`checkpoint` must be the dict `load_checkpoint` returns, not its path."""
    if isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"{function} takes the checkpoint load_checkpoint returns, not a path: "
                        f"{function}(load_checkpoint({str(checkpoint)!r})).")
    if not isinstance(checkpoint, dict) or "model_state" not in checkpoint:
        raise TypeError(f"{function} takes the dict load_checkpoint(path) returns, got {type(checkpoint).__name__}.")


def check_compatible(checkpoint: dict, spec: ModelSpec) -> None:
    """Raise CheckpointError naming each way `checkpoint` differs from `spec`'s configs and vocabularies."""
    _check_loaded(checkpoint, "check_compatible")
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec(model_config, src_vocab, trg_vocab, data_config), "
                        f"got {type(spec).__name__}.")
    problems = []
    for name, config in (("model_config", spec.model_config), ("data_config", spec.data_config)):
        saved = checkpoint.get(name)
        if config is None or (saved is None and name == "data_config"):
            continue
        for f in fields(config):  # a field the checkpoint predates has its default there
            mine, theirs = getattr(config, f.name), (saved or {}).get(f.name, f.default)
            if mine != theirs:
                problems.append(f"{name}.{f.name} is {mine!r} here but {theirs!r} in the checkpoint")
    for side, vocab in (("src", spec.src_vocab), ("trg", spec.trg_vocab)):
        stored = checkpoint.get(f"{side}_vocab")
        size = _vocab_size(_vocab_dict(vocab))
        if size is not None and stored is not None and size != _vocab_size(stored):
            problems.append(f"{side} vocabulary has {size} entries here but {_vocab_size(stored)} "
                            "in the checkpoint")
        elif vocab is not None and stored is not None and _vocab_dict(vocab)["itos"] != stored["itos"]:
            problems.append(f"{side} vocabulary has the same size but different tokens/order")
    if problems:
        raise CheckpointError(
            "The checkpoint does not match: " + "; ".join(problems) + ". Fix: build the model and data "
            "from the checkpoint's own configs and vocabularies (model_from_checkpoint, "
            "vocabs_from_checkpoint), or retrain with the current ones.")


def model_from_checkpoint(checkpoint: dict, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model described by `checkpoint` (plain or attention) and load its weights."""
    _check_loaded(checkpoint, "model_from_checkpoint")
    config = ModelConfig(**checkpoint["model_config"])
    sizes = (_vocab_size(checkpoint["src_vocab"]), _vocab_size(checkpoint["trg_vocab"]))
    if None in sizes:
        raise CheckpointError("This checkpoint has no vocabularies, so its model cannot be rebuilt; "
                              "save it with src_vocab= and trg_vocab=.")
    from .models import build_model

    model = build_model(config, *sizes)
    model.load_state_dict(checkpoint["model_state"])
    return model.to(device)


def vocabs_from_checkpoint(checkpoint: dict) -> tuple[Any, Any]:
    """The (src_vocab, trg_vocab) stored in `checkpoint`, as `Vocab` objects (`SubwordVocab` for subwords)."""
    from .subwords import vocab_from_dict

    _check_loaded(checkpoint, "vocabs_from_checkpoint")
    if checkpoint.get("src_vocab") is None or checkpoint.get("trg_vocab") is None:
        raise CheckpointError("This checkpoint has no vocabularies; save it with src_vocab= and trg_vocab=.")
    return vocab_from_dict(checkpoint["src_vocab"]), vocab_from_dict(checkpoint["trg_vocab"])


__all__ = ["FORMAT", "CheckpointError", "ModelSpec", "rng_state", "set_rng_state", "save_checkpoint",
           "tied_entries", "load_checkpoint", "check_compatible", "model_from_checkpoint", "vocabs_from_checkpoint"]

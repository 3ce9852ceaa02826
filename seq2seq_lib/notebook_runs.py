"""Where the notebooks keep their runs, and the one way a notebook gets a model: load it or train it.

In the `full` profile the notebooks hand models on: notebook 07 trains the classic model into
runs/classic, which 08 and 09 load; 09 trains runs/attention, which 10 loads (and runs/cho, for
itself); 11 trains runs/transformer. A notebook opened
first (or in a fresh Colab session, unless runs/ lives in Google Drive) finds nothing there and
trains the model itself, into the same folder, so the next notebook finds it. In the `ci` profile
every notebook trains its own small model in runs/ci/<notebook>-<name>: runs of seconds that no
other notebook relies on.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .runs import BEST

if TYPE_CHECKING:
    import torch

    from .config import ModelConfig, TrainConfig
    from .prepare import Prepared
    from .translator import Translator

PROFILES = ("ci", "full")


def series_root(cwd: str | Path | None = None) -> Path:
    """The repository folder when run from notebooks/ (JupyterLab), else the working folder (Colab's /content)."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    return cwd.parent if cwd.name == "notebooks" else cwd


def run_folder(runs: str | Path, name: str, profile_name: str, notebook: str) -> Path:
    """runs/<name> in the full profile (shared along the series), runs/ci/<notebook>-<name> in ci.

    >>> run_folder("runs", "classic", "full", "08").as_posix()
    'runs/classic'
    >>> run_folder("runs", "classic", "ci", "08").as_posix()
    'runs/ci/08-classic'
    """
    if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"name must be a folder name such as 'classic' (letters, digits, _ . -), got {name!r}.")
    if profile_name not in PROFILES:
        raise ValueError(f"profile_name must be one of {PROFILES}, got {profile_name!r}; pass profile.name.")
    if not isinstance(notebook, str) or not re.fullmatch(r"[0-9A-Z]\w*", notebook):
        raise ValueError(f"notebook must be the notebook's number as text, e.g. '08', got {notebook!r}.")
    return Path(runs) / (name if profile_name == "full" else f"ci/{notebook}-{name}")


def fresh_run_folder(runs: str | Path, name: str, profile_name: str, notebook: str) -> Path:
    """`run_folder`, emptied for a new run: a ci run is deleted, a full one is renamed, never deleted.

    A full-profile run may hold hours of training, so running a notebook again moves it to
    <name>-before-<date and time> beside the new one and says so.
    """
    folder = run_folder(runs, name, profile_name, notebook)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; move it away so that the run can use that folder.")
    if folder.is_dir() and any(folder.iterdir()):
        if profile_name == "ci":
            shutil.rmtree(folder)
        else:
            stamp, copy = f"{folder.name}-before-{time.strftime('%Y-%m-%dT%H-%M-%S')}", 1
            kept = folder.with_name(stamp)
            while kept.exists():  # two runs set aside in one second
                copy += 1
                kept = folder.with_name(f"{stamp}-{copy}")
            folder.rename(kept)
            print(f"The previous run in {folder} is now in {kept}; delete that folder when you no longer need it.")
    return folder


def load_or_train(name: str, model_config: ModelConfig, data: Prepared, *, profile_name: str,
                  train_config: TrainConfig, device: torch.device | str, runs: str | Path,
                  notebook: str) -> Translator:
    """A Translator from runs/<name>/best.pt in the full profile when it exists, else one trained with `fit`.

    Training starts from `train_config.seed`, so a notebook that trains shows the same model every
    time it runs, in a folder emptied by `fresh_run_folder` (a full-profile run without best.pt,
    say one interrupted in its first epoch, is moved aside).
    """
    from .models import build_model, count_parameters
    from .train import fit
    from .translator import Translator
    from .utils import set_seed

    from .config import ModelConfig, TrainConfig
    from .utils import usable_device

    out_dir = run_folder(runs, name, profile_name, notebook)
    device = usable_device(device)  # checked before any folder is moved
    if not isinstance(model_config, ModelConfig) or not isinstance(train_config, TrainConfig):
        raise TypeError(f"model_config and train_config must be a ModelConfig and a TrainConfig (e.g. "
                        f"profile.model, profile.train), got {type(model_config).__name__} and "
                        f"{type(train_config).__name__}.")
    if not (hasattr(data, "src_field") and hasattr(data, "iterator")):
        raise TypeError(f"data must be what prepare_data returns (with fields and iterators), got "
                        f"{type(data).__name__}.")
    if profile_name == "full" and (out_dir / BEST).is_file():
        print(f"Loading {out_dir / BEST}")
        return Translator.from_checkpoint(out_dir / BEST, device=device)
    fresh_run_folder(runs, name, profile_name, notebook)  # an interrupted run there is moved aside, not overwritten
    set_seed(train_config.seed)
    model = build_model(model_config, len(data.src_field.vocab), len(data.trg_field.vocab), data.pad_idx,
                        data.sos_idx)
    print(f"Training the {name} model ({count_parameters(model):,} parameters):")
    fit(model, data.iterator("train"), data.iterator("val"), spec=data.spec(model_config),
        train_config=train_config, device=device, out_dir=out_dir, progress=False)
    return Translator.from_checkpoint(out_dir / BEST, device=device)


__all__ = ["series_root", "run_folder", "fresh_run_folder", "load_or_train"]

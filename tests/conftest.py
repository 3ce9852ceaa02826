"""Shared fixtures: the real Multi30k files (when present) and small fields built on the bundled sample.

Real-data tests carry `@pytest.mark.multi30k` and take the `multi30k_dir` fixture. It looks in
`$SEQ2SEQ_DATA_DIR`, then in `../shared/data/multi30k` next to the repository (where developer
machines and CI keep the files); without them those tests are skipped, unless
`SEQ2SEQ_REQUIRE_DATA=1`, which turns the skip into a failure (use it in CI).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from seq2seq_lib.data import DATA_DIR_ENV, SHA256

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "multi30k"
REQUIRE_DATA_ENV = "SEQ2SEQ_REQUIRE_DATA"


def _complete(folder: Path) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in SHA256)


def _find_multi30k() -> tuple[Path | None, str]:
    """The folder holding all six Multi30k files, or None and why none was found."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        folder = Path(configured)
        if _complete(folder):
            return folder, ""
        if not folder.is_dir():
            return None, f"{DATA_DIR_ENV}={configured} is not a folder"
        missing = sorted(name for name in SHA256 if not (folder / name).is_file())
        return None, f"{DATA_DIR_ENV}={configured} lacks {', '.join(missing)}"
    if _complete(SHARED_DATA_DIR):
        return SHARED_DATA_DIR, ""
    return None, f"{DATA_DIR_ENV} is not set and {SHARED_DATA_DIR} does not hold the six Multi30k files"


def pytest_collection_modifyitems(config, items):
    """Tests marked `cpu_bf16` need bf16 LSTM kernels on this CPU; elsewhere they skip with the reason."""
    from seq2seq_lib.precision import bf16_support

    reason = bf16_support("cpu")
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"bf16 does not run on this CPU: {reason}")
    for item in items:
        if "cpu_bf16" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def one_thread():
    """Every model in the tests is tiny: one thread is fastest, and a busy machine cannot stall it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def multi30k_dir() -> Path:
    """Folder with the real Multi30k files; skips (or fails under SEQ2SEQ_REQUIRE_DATA=1) without them."""
    folder, why = _find_multi30k()
    if folder is None:
        message = (f"real Multi30k files not available: {why}. Point {DATA_DIR_ENV} at a folder with "
                   "train/val/test_2016_flickr.{de,en}.gz to run this test.")
        if os.environ.get(REQUIRE_DATA_ENV) == "1":
            pytest.fail(message + f" ({REQUIRE_DATA_ENV}=1 makes this a failure.)")
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def sample_data():
    """The bundled sample prepared with the `ci` profile (min_freq=2): fields, vocabularies, examples.

    Shared by many tests: treat it as read-only.
    """
    from seq2seq_lib.prepare import prepare_data

    return prepare_data("ci", use_sample=True)


@pytest.fixture(scope="session")
def src_field(sample_data):
    """German field whose vocabulary was built on the sample's training split (read-only)."""
    return sample_data.src_field


@pytest.fixture(scope="session")
def trg_field(sample_data):
    """English field whose vocabulary was built on the sample's training split (read-only)."""
    return sample_data.trg_field


@pytest.fixture()
def full_sample_field():
    """A fresh English field whose vocabulary holds every token of the whole sample (min_freq=1)."""
    from seq2seq_lib.data import load_sample
    from seq2seq_lib.fields import Field

    field = Field("en")
    field.build_vocab(field.preprocess_many([en for _, en in load_sample()]), min_freq=1)
    return field


@pytest.fixture(scope="session")
def multi30k_full(multi30k_dir):
    """Full Multi30k prepared with the `full` profile (29,000 training pairs; read-only)."""
    from seq2seq_lib.prepare import prepare_data

    return prepare_data("full", root=multi30k_dir)

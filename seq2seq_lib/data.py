"""Multi30k task 1 (German-English) and the bundled sample corpus, as lists of string pairs.

Files are looked up in an explicit `root`, then `$SEQ2SEQ_DATA_DIR`, then a per-user cache
(`$XDG_CACHE_HOME/seq2seq_lib/multi30k` or `~/.cache/seq2seq_lib/multi30k`). Missing files are
downloaded from the Multi30k project's GitHub data, checked against known sha256 sums and
written atomically, so an interrupted download never leaves a half file behind.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

Pair = tuple[str, str]

DATA_DIR_ENV = "SEQ2SEQ_DATA_DIR"
BASE_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw"
SPLIT_FILES = {"train": "train", "val": "val", "test": "test_2016_flickr"}
SPLIT_SIZES = {"train": 29_000, "val": 1_014, "test": 1_000}
LANGS = ("de", "en")
SHA256 = {
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
}
OFFLINE_HELP = (
    "To work offline, download the six files train/val/test_2016_flickr.{de,en}.gz from "
    f"{BASE_URL}/ on a machine with network, put them in one folder and set {DATA_DIR_ENV} to it "
    "(or pass root=...). To try the series without Multi30k, use seq2seq_lib.data.load_sample()."
)


class DataError(RuntimeError):
    """Multi30k could not be found, fetched or verified; the message says how to fix it.

    `problem` is the message without `fix`, the general offline advice, so that a caller such as
    the command line can give that advice in its own terms.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem} {fix}".strip())
        self.problem, self.fix = problem, fix


def cache_dir() -> Path:
    """The per-user folder where downloaded Multi30k files are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "seq2seq_lib" / "multi30k"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _candidate_dirs(root: str | os.PathLike | None) -> list[Path]:
    dirs = []
    if root is not None:
        dirs.append(Path(root))
    if os.environ.get(DATA_DIR_ENV):
        dirs.append(Path(os.environ[DATA_DIR_ENV]))
    dirs.append(cache_dir())
    return dirs


def _verify(path: Path) -> None:
    actual = sha256_of(path)
    if actual != SHA256[path.name]:
        raise DataError(
            f"{path} is corrupt or not the published Multi30k file (sha256 {actual[:12]}..., "
            f"expected {SHA256[path.name][:12]}...). Delete it and run again to download it afresh.",
            OFFLINE_HELP)


def download_file(name: str, target_dir: Path, base_url: str = BASE_URL, timeout: float = 30.0) -> Path:
    """Download one Multi30k file into `target_dir`, verify it, and move it into place atomically."""
    if name not in SHA256:
        raise ValueError(f"Unknown Multi30k file {name!r}; expected one of {sorted(SHA256)}.")
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(f"{base_url}/{name}", timeout=timeout) as response:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
        tmp = Path(tmp_name)
        actual = sha256_of(tmp)
        if actual != SHA256[name]:
            raise DataError(f"Downloaded {name} has sha256 {actual[:12]}..., expected "
                            f"{SHA256[name][:12]}...; the download was damaged. Run again.", OFFLINE_HELP)
        os.replace(tmp, target)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # HTTPException: cut-off body
        raise DataError(f"Could not download {name} from {base_url} ({exc}).", OFFLINE_HELP) from exc
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
    return target


def find_file(name: str, root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Path of a verified Multi30k file, downloading it into the cache if it is nowhere yet."""
    for folder in _candidate_dirs(root):
        path = folder / name
        if path.is_file():
            _verify(path)
            return path
    if not download:
        searched = ", ".join(str(d) for d in _candidate_dirs(root))
        raise DataError(f"{name} was not found in {searched}.", OFFLINE_HELP)
    return download_file(name, cache_dir())


def _read_lines(path: Path) -> list[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} could not be read as gzip text ({exc}); delete it and run again.") from exc
    lines = text.split("\n")  # not splitlines(): captions may hold other Unicode line breaks
    return lines[:-1] if lines and lines[-1] == "" else lines


def load_multi30k(split: str, root: str | os.PathLike | None = None, subset: int | None = None,
                  download: bool = True) -> list[Pair]:
    """(German, English) pairs of a Multi30k split: "train", "val" or "test" (test_2016_flickr).

    `subset` keeps the first n pairs, so the `ci` profile sees the same sentences every run.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"Unknown split {split!r}; use one of {list(SPLIT_FILES)} "
                         "('test' is test_2016_flickr).")
    if subset is not None and (not isinstance(subset, int) or isinstance(subset, bool) or subset < 1):
        raise ValueError(f"subset must be None or a positive integer, got {subset!r}.")
    stem = SPLIT_FILES[split]
    german, english = (_read_lines(find_file(f"{stem}.{lang}.gz", root, download)) for lang in LANGS)
    if len(german) != len(english):
        raise DataError(f"{stem}: {len(german)} German but {len(english)} English lines; "
                        "the files do not belong together. Delete them and run again.")
    pairs = list(zip(german, english))
    return pairs[:subset] if subset is not None else pairs


def load_sample() -> list[Pair]:
    """The bundled sample: a few hundred caption-style pairs written for this package (not Multi30k).

    >>> pairs = load_sample()
    >>> len(pairs) >= 300 and all(isinstance(de, str) and isinstance(en, str) for de, en in pairs)
    True
    """
    text = resources.files("seq2seq_lib").joinpath("sample/sample.tsv").read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            german, english = line.split("\t")
            pairs.append((german.strip(), english.strip()))
    return pairs


def load_splits(profile_train_subset: int | None = None, eval_subset: int | None = None,
                root: str | os.PathLike | None = None) -> dict[str, list[Pair]]:
    """All three Multi30k splits, each cut to the given subset sizes (None keeps everything)."""
    return {
        "train": load_multi30k("train", root, profile_train_subset),
        "val": load_multi30k("val", root, eval_subset),
        "test": load_multi30k("test", root, eval_subset),
    }

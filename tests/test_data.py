"""seq2seq_lib.data: lookup order, verified atomic downloads, clear errors, and the real split sizes."""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import urllib.error
from pathlib import Path

import pytest

from seq2seq_lib import data
from seq2seq_lib.data import DATA_DIR_ENV, DataError, SHA256, SPLIT_SIZES

SMALL = "test_2016_flickr.de.gz"  # the smallest real file, used where any verified file will do


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test here reads the real user cache, sees $SEQ2SEQ_DATA_DIR, or reaches the network."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError(f"network disabled in tests (asked for {url})")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)


class FakeResponse(io.BytesIO):
    """Stands in for urlopen's response: serves `payload`, optionally failing after `fail_after` bytes."""

    def __init__(self, payload: bytes, fail_after: int | None = None, error: BaseException | None = None,
                 on_read=None):
        super().__init__(payload)
        self.fail_after = fail_after
        self.error = error
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        if self.on_read is not None:
            self.on_read()
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise self.error
        return super().read(size if self.fail_after is None else min(size, self.fail_after - self.tell()))


def serve(monkeypatch, make_response, seen_urls=None):
    def fake_urlopen(url, timeout=None):
        if seen_urls is not None:
            seen_urls.append(url)
        return make_response(url)

    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)


def copy_real(multi30k_dir: Path, name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes((multi30k_dir / name).read_bytes())  # plain bytes: the originals are read-only
    return target


def assert_offline_help(message: str) -> None:
    assert "offline" in message
    assert DATA_DIR_ENV in message
    assert "load_sample" in message


# ---------------------------------------------------------------- the bundled sample

def test_sample_is_a_labelled_nonempty_corpus():
    pairs = data.load_sample()
    assert len(pairs) >= 300
    for german, english in pairs:
        assert german and english and german == german.strip() and english == english.strip()
        assert "\t" not in german + english
    assert len(set(pairs)) > 0.95 * len(pairs), "the sample should not be mostly repeats"
    from importlib import resources
    header = resources.files("seq2seq_lib").joinpath("sample/sample.tsv").read_text(encoding="utf-8")
    assert "not Multi30k" in header.splitlines()[0]


def test_sample_needs_no_files_and_no_network():
    assert data.load_sample() == data.load_sample()


# ---------------------------------------------------------------- argument checks

@pytest.mark.parametrize("split", ["training", "test_2016_flickr", "", "TRAIN", None])
def test_unknown_split_names_the_valid_ones(split):
    with pytest.raises(ValueError, match="Unknown split") as info:
        data.load_multi30k(split)
    assert "'train'" in str(info.value) and "test_2016_flickr" in str(info.value)


@pytest.mark.parametrize("subset", [0, -5, 2.5, "100", True])
def test_bad_subset_is_rejected_before_any_file_is_touched(subset, tmp_path):
    with pytest.raises(ValueError, match="subset must be None or a positive integer"):
        data.load_multi30k("train", root=tmp_path, subset=subset)
    assert not (tmp_path / "xdg-cache").exists()


def test_download_rejects_unknown_file_names(tmp_path):
    with pytest.raises(ValueError, match="Unknown Multi30k file"):
        data.download_file("train.fr.gz", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cache_dir_follows_xdg_and_falls_back_to_home(monkeypatch, tmp_path):
    assert data.cache_dir() == tmp_path / "xdg-cache" / "seq2seq_lib" / "multi30k"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "seq2seq_lib" / "multi30k"


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "blob"
    payload = os.urandom(3 << 20)  # more than one 1 MiB chunk
    path.write_bytes(payload)
    assert data.sha256_of(path) == hashlib.sha256(payload).hexdigest()


# ---------------------------------------------------------------- no network, missing files

def test_missing_files_without_network_say_how_to_work_offline(tmp_path):
    with pytest.raises(DataError) as info:
        data.load_multi30k("val", root=tmp_path / "empty")
    message = str(info.value)
    assert "Could not download val.de.gz" in message
    assert_offline_help(message)
    cache = data.cache_dir()
    assert not cache.exists() or list(cache.iterdir()) == [], "a failed download left a file behind"


def test_missing_files_with_download_off_list_the_folders_searched(monkeypatch, tmp_path):
    env_dir = tmp_path / "env"
    monkeypatch.setenv(DATA_DIR_ENV, str(env_dir))
    with pytest.raises(DataError) as info:
        data.find_file("val.en.gz", root=tmp_path / "root", download=False)
    message = str(info.value)
    assert str(tmp_path / "root") in message and str(env_dir) in message and str(data.cache_dir()) in message
    assert_offline_help(message)


def test_http_error_is_reported_as_data_error(monkeypatch, tmp_path):
    def not_found(url):
        raise urllib.error.HTTPError(url, 404, "Not Found", hdrs=None, fp=None)

    serve(monkeypatch, not_found)
    with pytest.raises(DataError, match="404") as info:
        data.download_file(SMALL, tmp_path)
    assert_offline_help(str(info.value))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- downloads (served from real bytes)

@pytest.mark.multi30k
def test_download_writes_the_verified_file_atomically(monkeypatch, tmp_path, multi30k_dir):
    payload = (multi30k_dir / SMALL).read_bytes()
    target_dir = tmp_path / "downloads"
    target = target_dir / SMALL
    seen_urls, replaced = [], []
    real_replace = os.replace

    def visible_only_when_complete():
        assert not target.exists(), "the target appeared before the download finished"

    def recording_replace(src, dst):
        replaced.append((Path(src), Path(dst)))
        assert Path(src).parent == Path(dst).parent, "a rename across folders is not atomic"
        assert data.sha256_of(Path(src)) == SHA256[SMALL], "moved into place before verification"
        real_replace(src, dst)

    serve(monkeypatch, lambda url: FakeResponse(payload, on_read=visible_only_when_complete), seen_urls)
    monkeypatch.setattr(data.os, "replace", recording_replace)
    path = data.download_file(SMALL, target_dir)

    assert path == target and path.read_bytes() == payload
    assert seen_urls == [f"{data.BASE_URL}/{SMALL}"]
    assert [dst for _, dst in replaced] == [target]
    assert sorted(p.name for p in target_dir.iterdir()) == [SMALL], "temporary files were left behind"


@pytest.mark.multi30k
def test_load_multi30k_downloads_missing_files_into_the_cache(monkeypatch, tmp_path, multi30k_dir):
    seen_urls = []
    serve(monkeypatch, lambda url: FakeResponse((multi30k_dir / url.rsplit("/", 1)[1]).read_bytes()), seen_urls)
    pairs = data.load_multi30k("test", root=tmp_path / "empty")
    assert len(pairs) == SPLIT_SIZES["test"]
    assert pairs == data.load_multi30k("test", root=multi30k_dir)
    assert sorted(url.rsplit("/", 1)[1] for url in seen_urls) == ["test_2016_flickr.de.gz", "test_2016_flickr.en.gz"]
    assert sorted(p.name for p in data.cache_dir().iterdir()) == ["test_2016_flickr.de.gz", "test_2016_flickr.en.gz"]
    seen_urls.clear()
    data.load_multi30k("test", root=tmp_path / "empty")
    assert seen_urls == [], "files already in the cache were downloaded again"


@pytest.mark.multi30k
def test_damaged_download_is_rejected_and_leaves_nothing(monkeypatch, tmp_path, multi30k_dir):
    payload = bytearray((multi30k_dir / SMALL).read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    serve(monkeypatch, lambda url: FakeResponse(bytes(payload)))
    with pytest.raises(DataError, match="damaged") as info:
        data.download_file(SMALL, tmp_path)
    assert "sha256" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [
    ConnectionResetError("connection reset by peer"),
    TimeoutError("timed out"),
    urllib.error.URLError("network went away"),
    http.client.IncompleteRead(b"partial", 1000),
], ids=["reset", "timeout", "urlerror", "incomplete-read"])
def test_download_interrupted_midway_leaves_no_partial_file(monkeypatch, tmp_path, error):
    serve(monkeypatch, lambda url: FakeResponse(os.urandom(200_000), fail_after=70_000, error=error))
    with pytest.raises(DataError, match="Could not download") as info:
        data.download_file(SMALL, tmp_path)
    assert_offline_help(str(info.value))
    assert list(tmp_path.iterdir()) == []


def test_download_cancelled_by_the_user_leaves_no_partial_file(monkeypatch, tmp_path):
    serve(monkeypatch, lambda url: FakeResponse(os.urandom(200_000), fail_after=70_000, error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        data.download_file(SMALL, tmp_path)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- lookup order and verification

@pytest.mark.multi30k
def test_lookup_order_is_root_then_env_then_cache(monkeypatch, tmp_path, multi30k_dir):
    root, env_dir, cache = tmp_path / "root", tmp_path / "env", data.cache_dir()
    for folder in (root, env_dir, cache):
        copy_real(multi30k_dir, SMALL, folder)
    monkeypatch.setenv(DATA_DIR_ENV, str(env_dir))

    assert data.find_file(SMALL, root=root) == root / SMALL
    assert data.find_file(SMALL) == env_dir / SMALL
    (root / SMALL).unlink()
    assert data.find_file(SMALL, root=root) == env_dir / SMALL
    monkeypatch.delenv(DATA_DIR_ENV)
    assert data.find_file(SMALL, root=root) == cache / SMALL
    (cache / SMALL).unlink()
    with pytest.raises(DataError):  # nowhere left, and the network is off
        data.find_file(SMALL, root=root)


@pytest.mark.multi30k
def test_empty_env_variable_is_ignored(monkeypatch, tmp_path, multi30k_dir):
    copy_real(multi30k_dir, SMALL, data.cache_dir())
    monkeypatch.setenv(DATA_DIR_ENV, "")
    assert data.find_file(SMALL) == data.cache_dir() / SMALL


@pytest.mark.multi30k
def test_corrupt_file_fails_with_sha256_message(tmp_path, multi30k_dir):
    path = copy_real(multi30k_dir, SMALL, tmp_path)
    damaged = bytearray(path.read_bytes())
    for offset in (100, 101, 5000):
        damaged[offset] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(DataError) as info:
        data.load_multi30k("test", root=tmp_path)
    message = str(info.value)
    assert str(path) in message and "corrupt" in message and "sha256" in message
    assert SHA256[SMALL][:12] in message and "Delete it" in message
    assert path.exists(), "a user's file must not be deleted behind their back"


@pytest.mark.multi30k
def test_files_of_different_splits_do_not_pair_up(monkeypatch, tmp_path, multi30k_dir):
    monkeypatch.setattr(data, "_verify", lambda path: None)  # let mismatched files through to the reader
    copy_real(multi30k_dir, "val.de.gz", tmp_path)
    (tmp_path / "val.en.gz").write_bytes((multi30k_dir / "test_2016_flickr.en.gz").read_bytes())
    with pytest.raises(DataError, match="1014 German but 1000 English lines"):
        data.load_multi30k("val", root=tmp_path)


def test_unreadable_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "val.de.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="could not be read as gzip"):
        data._read_lines(path)
    path.write_bytes(gzip.compress("Bad \xff bytes\n".encode("latin-1")))
    with pytest.raises(DataError, match="could not be read as gzip"):
        data._read_lines(path)


def test_read_lines_keeps_unicode_line_separators_inside_captions(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress("eins\u2028zwei\ndrei\n".encode("utf-8")))
    assert data._read_lines(path) == ["eins\u2028zwei", "drei"]


# ---------------------------------------------------------------- the real files

@pytest.mark.multi30k
def test_known_sums_match_the_published_sums_file(multi30k_dir):
    sums_file = multi30k_dir / "SHA256SUMS"
    if not sums_file.is_file():
        pytest.skip(f"{sums_file} not present")
    published = dict(reversed(line.split()) for line in sums_file.read_text().splitlines() if line.strip())
    assert published == SHA256
    for name, digest in SHA256.items():
        assert data.sha256_of(multi30k_dir / name) == digest


@pytest.mark.multi30k
@pytest.mark.parametrize("split, size", [("train", 29_000), ("val", 1_014), ("test", 1_000)])
def test_real_split_sizes(multi30k_dir, split, size):
    pairs = data.load_multi30k(split, root=multi30k_dir, download=False)
    assert len(pairs) == size == SPLIT_SIZES[split]
    assert all(isinstance(de, str) and isinstance(en, str) and de.strip() and en.strip() for de, en in pairs)


@pytest.mark.multi30k
def test_real_pairs_are_aligned_and_subset_is_a_prefix(multi30k_dir):
    train = data.load_multi30k("train", root=multi30k_dir)
    assert train[0] == ("Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
                        "Two young, White males are outside near many bushes.")
    assert data.load_multi30k("train", root=multi30k_dir, subset=2_000) == train[:2_000]
    assert data.load_multi30k("test", root=multi30k_dir, subset=50_000) == data.load_multi30k("test", root=multi30k_dir)


@pytest.mark.multi30k
def test_env_variable_alone_finds_the_real_files(monkeypatch, multi30k_dir):
    monkeypatch.setenv(DATA_DIR_ENV, str(multi30k_dir))
    splits = data.load_splits(2_000, 200)
    assert {name: len(pairs) for name, pairs in splits.items()} == {"train": 2_000, "val": 200, "test": 200}


def test_data_error_keeps_the_problem_apart_from_the_offline_advice(tmp_path):
    with pytest.raises(DataError) as info:
        data.find_file("val.en.gz", root=tmp_path, download=False)
    error = info.value
    assert str(error) == f"{error.problem} {error.fix}" and error.fix == data.OFFLINE_HELP
    assert "val.en.gz was not found" in error.problem and "load_sample" not in error.problem

"""Atomic file writes: a temp file in the same folder, flushed to disk, then renamed over the target.

An interrupted or failed write (Ctrl-C, a full disk) leaves the previous file, never half of one,
and no temp file behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(binary_file)` on a temp file next to `path`, then move it into place; returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:  # also on KeyboardInterrupt: never leave the temp file behind
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Write `value` as indented UTF-8 JSON, atomically; returns `path`.

    >>> import tempfile; folder = tempfile.mkdtemp()
    >>> write_json(Path(folder) / "a.json", {"loss": 1.5}).read_text()
    '{\\n "loss": 1.5\\n}'
    """
    text = json.dumps(value, indent=1, ensure_ascii=False)  # before the write: a bad value leaves no file
    return write_atomically(path, lambda file: file.write(text.encode("utf-8")))


__all__ = ["write_atomically", "write_json"]

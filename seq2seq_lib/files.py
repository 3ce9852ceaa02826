"""Atomic file writes: a temp file in the same folder, flushed to disk, then renamed over the target.

A failed write (a full disk) leaves the previous file, never half of one, and no temp file
behind. Ctrl-C during a write is held until the write has finished, then delivered: a library
writing the file (torch.save's zip writer) may turn an exception in mid-write into one of its own.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """A SIGINT that arrives inside the block reaches its handler only once the block has ended.

    Only the main thread receives signals, and a handler installed outside Python (None) or one
    that ignores SIGINT is left alone.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous in (None, signal.SIG_IGN):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            signal.raise_signal(signal.SIGINT)  # now to the usual handler: KeyboardInterrupt by default


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(binary_file)` on a temp file next to `path`, then move it into place; returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ctrl_c_held():
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                write(file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:  # never leave the temp file behind
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


__all__ = ["ctrl_c_held", "write_atomically", "write_json"]

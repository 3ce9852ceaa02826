"""Re-execute the notebook series in place (profile `ci` unless told otherwise) and save the outputs.

Usage: python tools/run_notebooks.py [notebooks/03_*.ipynb ...] [--profile ci] [--check]
Prints one line per notebook with its wall time; exits non-zero if any notebook fails.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def series(folder: Path) -> list[Path]:
    """The notebooks of the series in reading order: 01_... to 99_..., then the appendices A1_..."""
    return [path for pattern in ("[0-9][0-9]_*.ipynb", "A[0-9]_*.ipynb") for path in sorted(folder.glob(pattern))]


def execute(path: Path, timeout: int) -> float:
    """Run one notebook on a fresh kernel in its own folder and write it back atomically."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        nbformat.write(notebook, handle)
    os.replace(tmp, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: the series, then the appendices (A1_...)")
    parser.add_argument("--profile", default="ci", choices=["ci", "full"])
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--json", type=Path, help="also write the timings here as JSON")
    args = parser.parse_args(argv)
    os.environ["SEQ2SEQ_PROFILE"] = args.profile
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    paths = args.notebooks or series(ROOT / "notebooks")
    timings, failed = {}, []
    for path in paths:
        try:
            timings[path.name] = round(execute(path.resolve(), args.timeout), 2)
            print(f"{path.name:45s} {timings[path.name]:7.1f} s", flush=True)
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"{path.name:45s} FAILED\n{str(exc)[-2000:]}", flush=True)
    print(f"{'total':45s} {sum(timings.values()):7.1f} s  (profile {args.profile})")
    if args.json:
        args.json.write_text(json.dumps({"profile": args.profile, "seconds": timings}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

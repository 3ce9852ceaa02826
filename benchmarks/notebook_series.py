"""Wall time of the whole notebook series in the `ci` profile, each notebook on a fresh kernel.

Runs copies of the notebooks in a temporary folder (the committed outputs are left alone) and
prints one row per notebook, the total, and a last line that is one JSON object.
Usage: python benchmarks/notebook_series.py [--profile ci]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from run_notebooks import execute, series  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci", choices=["ci", "full"])
    args = parser.parse_args()
    os.environ["SEQ2SEQ_PROFILE"] = args.profile
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "notebooks"
        shutil.copytree(ROOT / "notebooks", copy, ignore=shutil.ignore_patterns("runs", ".ipynb_checkpoints"))
        for path in series(copy):
            seconds[path.name] = round(execute(path, timeout=900), 1)
            print(f"{path.name:40s} {seconds[path.name]:7.1f} s", flush=True)
    total = round(sum(seconds.values()), 1)
    print(f"{'total':40s} {total:7.1f} s   ({os.cpu_count()} CPU cores, profile {args.profile})")
    print(json.dumps({"benchmark": "notebook_series", "profile": args.profile, "cpu_cores": os.cpu_count(),
                      "machine": platform.machine(), "seconds": seconds, "total_seconds": total}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

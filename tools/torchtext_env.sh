#!/usr/bin/env bash
# Run the torchtext parity tests (tests/test_torchtext_parity.py) in their own environment.
#
# torchtext 0.18.0, its final release, loads only with torch 2.3, so the tests live in a separate
# virtual environment, .venv-torchtext (about 2.8 GB: torch 2.3.1 from PyPI brings CUDA libraries).
# The environment is created once and reused while it still imports; delete it to start afresh.
#
# Usage: bash tools/torchtext_env.sh [extra pytest arguments]
# Environment: PYTHON (interpreter for the venv, default python3), TORCHTEXT_VENV (default
# .venv-torchtext), TORCH_INDEX_URL (optional index for torch 2.3.1, e.g. PyTorch's CPU-only
# https://download.pytorch.org/whl/cpu, which keeps the environment far smaller), SEQ2SEQ_DATA_DIR (Multi30k files; defaults to ../shared/data/multi30k if present).
# Exits non-zero if the environment cannot be built, a test fails, or no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${TORCHTEXT_VENV:-.venv-torchtext}"
PY="$VENV/bin/python"
# torch 2.3.1 was compiled against NumPy 1.x; NumPy 2 breaks its NumPy bridge, hence numpy<2.
# spaCy is kept below 3.8 because spaCy 3.8 (through thinc 8.3) needs NumPy 2; spaCy 3.7 imports
# click, which recent typer releases no longer install.
PACKAGES=("torch==2.3.1" "torchtext==0.18.0" "numpy<2" "spacy>=3.7,<3.8" "click<9" "pytest>=8")

env_works() {
    [ -x "$PY" ] && "$PY" - <<'EOF' >/dev/null 2>&1
import numpy, pytest, torch, torchtext
torchtext.disable_torchtext_deprecation_warning()
import spacy
from torchtext.vocab import build_vocab_from_iterator
assert torch.__version__.split("+")[0] == "2.3.1", torch.__version__
assert torchtext.__version__.split("+")[0] == "0.18.0", torchtext.__version__
assert int(numpy.__version__.split(".")[0]) < 2, numpy.__version__
torch.from_numpy(numpy.zeros(2))
EOF
}

start=$(date +%s)
if env_works; then
    echo "torchtext_env: reusing $VENV"
else
    echo "torchtext_env: building $VENV (torch 2.3.1 + torchtext 0.18.0; a few GB, several minutes)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    if [ -n "${TORCH_INDEX_URL:-}" ]; then  # e.g. https://download.pytorch.org/whl/cpu: a smaller CPU build
        "$PY" -m pip install -q --index-url "$TORCH_INDEX_URL" "torch==2.3.1"
    fi
    "$PY" -m pip install -q "${PACKAGES[@]}"
    if ! env_works; then
        echo "torchtext_env: $VENV was built but torch 2.3.1 + torchtext 0.18.0 do not import together:" >&2
        "$PY" -c "import torch, torchtext; print(torch.__version__, torchtext.__version__)" >&2 || true
        exit 1
    fi
fi
# The project itself, without its dependencies (they would pull a newer torch); quiet unless it fails.
installed_at="$(cd / && "$PY" -c 'import os, seq2seq_lib; print(os.path.dirname(seq2seq_lib.__file__))' 2>/dev/null || true)"
install_log="$(mktemp -t torchtext-install.XXXXXX.log)"
if [ "$installed_at" != "$PWD/seq2seq_lib" ] && ! "$PY" -m pip install -q --no-deps -e . >"$install_log" 2>&1; then
    cat "$install_log" >&2
    rm -f "$install_log"
    echo "torchtext_env: installing this package into $VENV failed" >&2
    exit 1
fi
rm -f "$install_log"
echo "torchtext_env: environment ready after $(( $(date +%s) - start )) s"

if [ -z "${SEQ2SEQ_DATA_DIR:-}" ] && [ -d ../shared/data/multi30k ]; then
    SEQ2SEQ_DATA_DIR="$(cd ../shared/data/multi30k && pwd)"
    export SEQ2SEQ_DATA_DIR
fi

report="$(mktemp -t torchtext-parity.XXXXXX.xml)"
trap 'rm -f "$report"' EXIT
status=0
# -W: spaCy 3.7 imports a click helper that click deprecates; not ours to fix.
"$PY" -m pytest -q -p no:cacheprovider -o addopts="" -rs -W "ignore::DeprecationWarning" \
    --junitxml="$report" \
    tests/test_torchtext_parity.py "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "torchtext_env: no parity test was collected (pytest exit status 5)" >&2
    exit 1
elif [ "$status" -ne 0 ]; then
    echo "torchtext_env: parity tests failed (pytest exit status $status)" >&2
    exit "$status"
fi
ran=$("$PY" - "$report" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
print(sum(int(s.get("tests", 0)) - int(s.get("skipped", 0)) for s in suites))
EOF
)
if [ "$ran" -eq 0 ]; then
    echo "torchtext_env: no parity test ran (all skipped?); see the skip reasons above" >&2
    exit 1
fi
echo "torchtext_env: $ran parity test(s) passed in $(( $(date +%s) - start )) s in total"

#!/usr/bin/env bash
# Check the notebooks against an imitation of Google Colab's runtime, in its own venv, .venv-colab.
#
# Colab pins ipykernel 6.17.1, IPython 7.34.0, jupyter_client 7.4.9 and notebook 6.5.7, renders
# ipywidgets 7 (7.7.1 with widgetsnbextension 3.6.10) and ships torch 2.x, numpy, matplotlib, tqdm,
# spaCy and safetensors. .venv-colab holds those (torch as a CPU build) plus the tools that run notebooks,
# but not this package: tests/test_colab_env.py installs it with the notebooks' own install cell
# and checks that the install changes none of Colab's packages (the list is saved when the venv is
# built, in .venv-colab/colab-packages.json), then runs notebooks there. Afterwards the widget
# tests run under ipywidgets 7.
# The venv is built once and reused while it still holds the pinned versions; delete it to start afresh.
#
# Usage: bash tools/colab_env.sh [extra pytest arguments]
# Environment: PYTHON (interpreter for the venv, default python3), COLAB_VENV (default .venv-colab),
# COLAB_TORCH (default torch==2.13.0; any torch 2 CPU build: where the plain index has only a CUDA
# build, as PyPI has for Linux, it comes from COLAB_CPU_INDEX, default PyTorch's CPU index),
# SEQ2SEQ_DATA_DIR (Multi30k files; defaults to ../shared/data/multi30k if present).
# Exits non-zero if the environment cannot be built or a test fails or is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${COLAB_VENV:-.venv-colab}"
PY="$VENV/bin/python"
# Colab's pins: installing our package must leave every one of these as it is.
TORCH="${COLAB_TORCH:-torch==2.13.0}"
PINNED=("$TORCH" "ipykernel==6.17.1" "ipython==7.34.0" "jupyter_client==7.4.9" "notebook==6.5.7"
        "ipywidgets==7.7.1" "widgetsnbextension==3.6.10")
# Also on Colab, at whatever version it has this month; the check covers them too.
SHIPPED=("numpy" "matplotlib" "tqdm" "spacy" "requests" "safetensors")
# What runs the notebooks and the tests (Colab has nbformat, nbclient and pytest as well).
RUNNERS=("nbformat" "nbclient" "pytest")

CPU_INDEX="${COLAB_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"

# True when installing $TORCH (with any extra pip options given) would bring no CUDA libraries.
cpu_only_plan() {
    local plan status
    plan="$(mktemp -t colab-torch.XXXXXX.json)"
    status=0
    "$PY" -m pip install -q --dry-run --report "$plan" "$@" "$TORCH" || status=$?
    if [ "$status" -eq 0 ]; then
        "$PY" - "$plan" <<'EOF' || status=$?
import json, sys
names = [item["metadata"]["name"].lower() for item in json.load(open(sys.argv[1]))["install"]]
sys.exit(any(name.startswith("nvidia-") for name in names))
EOF
    fi
    rm -f "$plan"
    return "$status"
}

env_works() {
    [ -x "$PY" ] && [ -f "$VENV/colab-packages.json" ] && "$PY" - "${PINNED[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    assert version(name).split("+")[0] == wanted, (name, version(name))
import IPython, ipykernel, ipywidgets, matplotlib, nbclient, spacy, torch
EOF
}

start=$(date +%s)
if env_works; then
    echo "colab_env: reusing $VENV"
else
    echo "colab_env: building $VENV (Colab's pins, $TORCH for the CPU; a few minutes)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    # PyPI's Linux torch wheels pull several GB of CUDA libraries: look before downloading them, and
    # where the plain index offers only those, take the CPU build from PyTorch's own CPU index.
    torch_source=()
    if ! cpu_only_plan; then
        torch_source=(--extra-index-url "$CPU_INDEX")
        if ! cpu_only_plan "${torch_source[@]}"; then
            echo "colab_env: $TORCH resolves to a CUDA build here, also with $CPU_INDEX; set COLAB_TORCH (or an index) to a CPU build" >&2
            exit 1
        fi
        echo "colab_env: $TORCH from $CPU_INDEX (the plain index offers a CUDA build only)"
    fi
    "$PY" -m pip install -q ${torch_source[@]+"${torch_source[@]}"} "${PINNED[@]}" "${SHIPPED[@]}" "${RUNNERS[@]}"
    # What "Colab ships" means for the check: every distribution in the venv before our install.
    "$PY" - "$VENV/colab-packages.json" <<'EOF'
import json, re, sys
from importlib.metadata import distributions
packages = {re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower(): dist.version for dist in distributions()}
json.dump(dict(sorted(packages.items())), open(sys.argv[1], "w"), indent=1)
EOF
    if ! env_works; then
        echo "colab_env: $VENV was built but does not hold Colab's pinned versions:" >&2
        "$PY" -m pip list 2>/dev/null | grep -i -E "^(torch|ipykernel|ipython|jupyter.client|notebook|ipywidgets|widgetsnbextension) " >&2 || true
        exit 1
    fi
fi
echo "colab_env: environment ready after $(( $(date +%s) - start )) s"

if [ -z "${SEQ2SEQ_DATA_DIR:-}" ] && [ -d ../shared/data/multi30k ]; then
    SEQ2SEQ_DATA_DIR="$(cd ../shared/data/multi30k && pwd)"
    export SEQ2SEQ_DATA_DIR
fi

run_pytest() {
    # -o addopts="": the project's options assume its own venv; -p no:cacheprovider keeps the tree clean.
    SEQ2SEQ_REQUIRE_COLAB=1 COLAB_VENV="$VENV" "$PY" -m pytest -q -p no:cacheprovider -o addopts="" -rs "$@"
}
# First the install cell and the notebooks (this installs the package), then the widgets under ipywidgets 7.
status=0
run_pytest tests/test_colab_env.py "$@" || status=$?
if [ "$status" -eq 0 ]; then
    run_pytest tests/test_widgets_*.py "$@" || status=$?
fi
if [ "$status" -ne 0 ]; then
    echo "colab_env: tests failed (pytest exit status $status)" >&2
    exit "$status"
fi
echo "colab_env: passed in $(( $(date +%s) - start )) s in total"

"""The notebooks on an imitation of Google Colab: `.venv-colab`, built by `bash tools/colab_env.sh`.

Colab pins ipykernel 6.17.1, IPython 7.34.0, jupyter_client 7.4.9 and notebook 6.5.7 and renders
ipywidgets 7. The notebooks' install cell must add what Colab lacks and change none of Colab's
packages (an upgraded kernel or widget library breaks Colab's frontend), and the notebooks must run
with those versions. The venv-free checks run everywhere; the rest is skipped when `.venv-colab` is
absent, unless SEQ2SEQ_REQUIRE_COLAB=1, which makes that a failure (tools/colab_env.sh sets it).
"""
from __future__ import annotations

import json
import os
import re
import sys
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tools"))
from run_notebooks import series  # noqa: E402

NOTEBOOKS = series(REPO_ROOT / "notebooks")  # the series, then the appendices
REQUIRE_ENV = "SEQ2SEQ_REQUIRE_COLAB"
# Colab's pinned versions; the venv must hold exactly these for the checks to mean anything.
COLAB_PINS = {"ipykernel": "6.17.1", "ipython": "7.34.0", "jupyter-client": "7.4.9", "notebook": "6.5.7",
              "ipywidgets": "7.7.1", "widgetsnbextension": "3.6.10"}
# The first notebook, and one that trains, decodes and shows a widget: a few minutes in all on a CPU.
NOTEBOOKS_TO_RUN = ["01_data_and_fields.ipynb", "08_inference_bleu.ipynb"]
INSTALL_LINE = re.compile(r'^\s*%pip install (?P<args>.+)$', re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def install_cell_requirements() -> dict[str, str]:
    """Notebook name -> the arguments its install cell passes to `%pip install`."""
    found = {}
    for path in NOTEBOOKS:
        sources = ["".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
        lines = [match["args"] for source in sources for match in INSTALL_LINE.finditer(source)]
        assert len(lines) == 1, f"{path.name}: expected one %pip install line, found {lines}"
        found[path.name] = lines[0]
    return found


def the_requirement() -> str:
    """The quoted requirement every notebook installs (they must all agree)."""
    arguments = set(install_cell_requirements().values())
    assert len(arguments) == 1, f"the notebooks install different things: {arguments}"
    match = re.fullmatch(r'"([^"]+)"', arguments.pop())
    assert match, "the install cell should pass exactly one quoted requirement and no options"
    return match[1]


def local_requirement() -> str:
    """The install cell's requirement with this checkout in place of the GitHub repository."""
    requirement = the_requirement()
    local, count = re.subn(r"git\+https://github\.com/[^\s\"]+", REPO_ROOT.as_uri(), requirement)
    assert count == 1, f"no git+https://github.com/... URL in {requirement!r}"
    return local


# ---------------------------------------------------------------- without the venv

def test_install_cell_asks_for_no_extra_and_hides_nothing():
    requirement = the_requirement()
    name = requirement.split("@")[0].strip()
    assert name == "seq2seq-lib", f"the install cell should ask for the bare package, not {name!r} (extras pull JupyterLab)"
    for arguments in install_cell_requirements().values():
        assert not arguments.startswith("-"), "pip's options (-q) hide the line where Colab offers a restart"


def test_install_cell_runs_only_on_colab():
    for path in NOTEBOOKS:
        setup = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][2]["source"])
        assert 'if "google.colab" in sys.modules:' in setup and "%pip install" in setup, path.name


# ---------------------------------------------------------------- in .venv-colab

@pytest.fixture(scope="module")
def colab_python() -> Path:
    venv = Path(os.environ.get("COLAB_VENV", ".venv-colab"))
    venv = venv if venv.is_absolute() else REPO_ROOT / venv
    python = venv / "bin" / "python"
    if not python.is_file() or not (venv / "colab-packages.json").is_file():
        message = f"no Colab-like environment at {venv}: run `bash tools/colab_env.sh` to build it and run these tests"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message + f" ({REQUIRE_ENV}=1 makes this a failure.)")
        pytest.skip(message)
    return python


@pytest.fixture(scope="module")
def colab_packages(colab_python) -> dict[str, str]:
    """Every distribution in the venv before this package was installed: what Colab ships."""
    packages = json.loads((colab_python.parent.parent / "colab-packages.json").read_text())
    wrong = {name: packages.get(name) for name, version in COLAB_PINS.items() if packages.get(name) != version}
    assert not wrong, f"the environment does not hold Colab's pins: {wrong}; delete it and rebuild"
    return packages


def pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


def changed_packages(installs: dict[str, str], colab_packages: dict[str, str]) -> dict[str, str]:
    return {name: f"{colab_packages[name]} -> {version}" for name, version in installs.items()
            if name in colab_packages and colab_packages[name] != version}


def test_install_cell_changes_none_of_colabs_packages(colab_python, colab_packages, tmp_path):
    report = tmp_path / "report.json"
    pip(colab_python, "install", "--dry-run", "--quiet", "--report", str(report), local_requirement())
    installs = {canonical(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    assert "seq2seq-lib" in installs
    assert not changed_packages(installs, colab_packages), (
        f"installing {local_requirement()!r} would change Colab's packages: "
        f"{changed_packages(installs, colab_packages)}")


@pytest.fixture(scope="module")
def installed(colab_python, colab_packages) -> Path:
    """The package installed as the install cell does it; afterwards every Colab package is unchanged."""
    pip(colab_python, "install", "--quiet", local_requirement())
    listed = json.loads(pip(colab_python, "list", "--format", "json").stdout)
    now = {canonical(item["name"]): item["version"] for item in listed}
    assert not changed_packages(now, colab_packages), changed_packages(now, colab_packages)
    return colab_python


# Runs one notebook in the venv's own kernel, then a last cell that reports the kernel's versions.
RUNNER = """
import json, sys
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(
    "import json, IPython, ipykernel, ipywidgets; "
    "print(json.dumps([IPython.__version__, ipykernel.__version__, ipywidgets.__version__]))"))
NotebookClient(notebook, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}).execute()
print(notebook.cells[-1].outputs[0]["text"].strip())
"""


@pytest.mark.multi30k
@pytest.mark.parametrize("name", NOTEBOOKS_TO_RUN)
def test_notebook_runs_on_colab(installed, multi30k_dir, name):
    env = {**os.environ, "SEQ2SEQ_PROFILE": "ci", "SEQ2SEQ_DATA_DIR": str(multi30k_dir),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           # the kernel must be the venv's python, as on Colab the kernel is Colab's
           "PATH": f"{installed.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(installed), "-c", RUNNER, str(REPO_ROOT / "notebooks" / name)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, f"{name} failed on the Colab-like kernel:\n{result.stderr[-4000:]}"
    ipython, ipykernel, ipywidgets = json.loads(result.stdout.strip().splitlines()[-1])
    assert (ipython, ipykernel, ipywidgets) == (COLAB_PINS["ipython"], COLAB_PINS["ipykernel"], COLAB_PINS["ipywidgets"])

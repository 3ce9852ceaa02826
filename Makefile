# Two entry points: `make lab` (set up and open the series) and `make test` (set up and run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The torch the project is tested with. On Linux, PyPI's wheel is a CUDA build (several GB); on a
# machine without an NVIDIA GPU, TORCH_INDEX=https://download.pytorch.org/whl/cpu gets the small CPU build.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_FLAGS ?= -q

.PHONY: lab setup test unit unit-avx2 notebooks-check torchtext browser-deps notebooks benchmarks clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[lab,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (seq2seq)" >/dev/null
	touch $@

lab: setup
	$(BIN)/jupyter lab notebooks/01_data_and_fields.ipynb

# Every test: unit tests and doctests, the notebooks under nbval, the browser test, the same
# unit tests and notebooks again as an AVX2-only CPU sees them, notebooks 01 and 08 in an
# environment pinned like Colab's, and the torchtext parity tests in their own torch 2.3.1 +
# torchtext 0.18.0 environment.
test: setup browser-deps
	$(BIN)/python -m pytest $(PYTEST_FLAGS) --doctest-modules seq2seq_lib tests
	SEQ2SEQ_PROFILE=ci $(BIN)/python -m pytest $(PYTEST_FLAGS) --nbval-lax --nbval-current-env notebooks
	$(MAKE) --no-print-directory unit-avx2
	bash tools/colab_env.sh
	bash tools/torchtext_env.sh

# Most learners' CPUs (laptops, many AMD and cloud machines) lack AVX-512 and AMX, and with them
# oneDNN's bf16 LSTM kernels: limiting oneDNN and ATen to AVX2 shows what those machines see.
AVX2_ONLY := ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2
unit-avx2: setup
	$(AVX2_ONLY) $(BIN)/python -m pytest $(PYTEST_FLAGS) --doctest-modules -m "not browser" seq2seq_lib tests
	$(AVX2_ONLY) SEQ2SEQ_PROFILE=ci $(BIN)/python -m pytest $(PYTEST_FLAGS) --nbval-lax --nbval-current-env notebooks

unit: setup
	$(BIN)/python -m pytest $(PYTEST_FLAGS) --doctest-modules seq2seq_lib tests

browser-deps:
	bash tools/browser_deps.sh

# Re-execute every notebook in the small `ci` profile and save the outputs in place.
notebooks: setup
	$(BIN)/python tools/run_notebooks.py --profile ci

benchmarks: setup
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .venv-torchtext .venv-colab .pytest_cache

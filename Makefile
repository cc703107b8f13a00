# `make run` runs the whole course, `make test` the tests; both first build .venv if needed.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

# pip is upgraded first: pip 23's resolver backtracks for many minutes through d2l's Jupyter
# dependencies on Python 3.8, where pip 25 takes seconds.
# tools/find_python.sh builds .venv with a Python 3.8-3.11 from PATH (or PYTHON=...), else with
# `uv venv --python 3.11` when uv is installed, else says where to get Python 3.11.
$(STAMP): setup.cfg pyproject.toml
	@./tools/find_python.sh --venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/gluon-lessons walkthrough

# one pytest process per core (pytest-xdist)
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

bench: $(STAMP)
	$(BIN)/python benchmarks/epoch_throughput.py

clean:
	rm -rf $(VENV) lesson_output .pytest_cache

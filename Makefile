# `make run` runs the whole course, `make test` the tests; both first build .venv if needed.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

# pip is upgraded first: pip 23's resolver backtracks for many minutes through d2l's Jupyter
# dependencies on Python 3.8, where pip 25 takes seconds.
$(STAMP): setup.cfg pyproject.toml
	@python=$$(./tools/find_python.sh) || exit 1; \
	echo "creating $(VENV) with $$python ($$($$python --version 2>&1))"; \
	rm -rf $(VENV) && $$python -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/gluon-lessons walkthrough

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/epoch_throughput.py

clean:
	rm -rf $(VENV) lesson_output .pytest_cache

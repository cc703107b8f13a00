# `make run` runs the whole course, `make test` the tests; both first build .venv if needed.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BOOK_STAMP := $(VENV)/.book-installed

.PHONY: run test bench bench-lessons book book-deps clean

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

# The course as a website: every lesson executed once, build/book/html/index.html;
# `make book QUICK=1` uses the lessons' quick settings (build/book-quick), as the browser test does.
book: $(BOOK_STAMP)
	$(BIN)/python book/build.py $(if $(QUICK),--quick)

book-deps: $(BOOK_STAMP)

$(BOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,book]'
	@touch $(BOOK_STAMP)

# The training paths against a careful NumPy loop (and PyTorch: TORCH_PYTHON=a python that imports torch),
# then every lesson's time and memory. BENCH_ARGS go to the first, e.g. BENCH_ARGS="--quick".
bench: $(STAMP)
	$(BIN)/python benchmarks/epoch_throughput.py $(if $(TORCH_PYTHON),--torch-python $(TORCH_PYTHON)) $(BENCH_ARGS)
	$(BIN)/python benchmarks/lesson_times.py

bench-lessons: $(STAMP)
	$(BIN)/python benchmarks/lesson_times.py

clean:
	rm -rf $(VENV) lesson_output .pytest_cache

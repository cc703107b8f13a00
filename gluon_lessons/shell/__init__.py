"""The course shell: what runs the course, apart from what it teaches.

The teaching core (`gluon_lessons/*.py`: data, model, loading, training, the theory modules, plots)
is what a learner opens beside a lesson. This package wraps it for the command line and the tests:

- `cli`: the `gluon-lessons` command (argparse, exit codes, signals);
- `runner` (executing lesson cells), `settings` (a lesson's settings), `arguments` (command-line
  options shared by `cli` and `runner`), `notebooks` (export and execution as Jupyter notebooks);
- `datafiles`: CSV files and their JSON descriptions; `outputs`: where runs may write, atomic writes;
  `memory`: what fits in this machine's memory;
- `train`: `gluon-lessons train`'s choice between the plain loop and the fused fast path;
- `launcher` and `worker`: MXNet's cluster launcher, and the program each launched process runs.

The shell imports the core; the core never imports the shell (tests/test_layers.py checks it).
Nothing here imports MXNet at import time.
"""

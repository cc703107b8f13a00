"""`gluon-lessons`: list and run lessons, train the walkthrough's model, regenerate `data/`.

Bad input ends with one line on stderr and exit code 2; a diverging run or a missing GPU with exit code 1.
"""

import argparse
import contextlib
import os
import signal
import sys
import traceback
from pathlib import Path

from .. import checks
from . import arguments
from .arguments import (
    Parser,
    data_file,
    finite_float,
    input_file,
    output_folder,
    positive_int,
    seed,
)
from .arguments import number as number_type
from .arguments import weights as weights_type

USAGE_ERROR, RUN_ERROR = arguments.USAGE_ERROR, 1
BROKEN_PIPE = (
    128 + 13
)  # what a Unix tool killed by SIGPIPE reports, as in `gluon-lessons list | head -1`


def _fail(message, code):
    print("gluon-lessons: error: %s" % message, file=sys.stderr)
    return code


def build_parser():
    parser = Parser(prog="gluon-lessons", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    commands.add_parser("list", help="list the lessons")

    run = commands.add_parser("run", help="run one lesson by number or slug")
    run.add_argument("lesson")
    arguments.add_run_arguments(run)

    notebook = commands.add_parser("notebook", help="write lessons as Jupyter notebooks (.ipynb)")
    notebook.add_argument("lesson", help="a number, a slug, or all")
    notebook.add_argument(
        "--out", type=output_folder, default="notebooks", help="folder for the .ipynb files"
    )
    notebook.add_argument(
        "--execute", action="store_true", help="run each notebook and keep its outputs"
    )
    notebook.add_argument(
        "--quick", action="store_true", help="with --execute: the small settings the tests use"
    )
    notebook.add_argument("--seed", type=seed, default=None)

    walk = commands.add_parser("walkthrough", help="run every lesson in order")
    walk.add_argument(
        "--out", type=output_folder, default="lesson_output", help="figures go to OUT/<slug>/"
    )
    walk.add_argument(
        "--seed", type=seed, default=0, help="one seed for random, numpy and mx.random (default 0)"
    )
    walk.add_argument(
        "--quick", action="store_true", help="every lesson with its small settings (about a minute)"
    )

    check = commands.add_parser(
        "check", help="run the worked solutions of a lesson's exercises through their checks"
    )
    check.add_argument("lesson", help="a number, a slug, or all")

    solution = commands.add_parser(
        "solution", help="print the worked solutions of a lesson's exercises"
    )
    solution.add_argument("lesson", help="a number or a slug")
    solution.add_argument("--exercise", type=positive_int("--exercise"), help="only this exercise")

    train = commands.add_parser("train", help="train Dense(1) linear regression on house prices")
    train.add_argument("--num-examples", type=positive_int("--num-examples"))
    train.add_argument("--true-w", type=weights_type, help="comma list, e.g. 2,-3.4")
    train.add_argument("--true-b", type=finite_float("--true-b"))
    train.add_argument("--noise", type=finite_float("--noise"))
    train.add_argument(
        "--data", type=input_file, help="a CSV in the layout of data/house_prices.csv"
    )
    train.add_argument("--batch-size", type=positive_int("--batch-size"), default=10)
    train.add_argument("--lr", type=finite_float("--lr"), default=0.03)
    train.add_argument("--momentum", type=finite_float("--momentum"), default=0.0)
    train.add_argument("--optimizer", choices=("sgd", "nag"), default="sgd")
    train.add_argument("--epochs", type=positive_int("--epochs"), default=3)
    train.add_argument(
        "--ctx", default="auto", help="auto, cpu, gpu, gpu:N, or a list such as cpu:0,cpu:1"
    )
    train.add_argument(
        "--loader",
        choices=("fast", "gluon"),
        default="fast",
        help="fast in-memory batches (default) or the walkthrough's DataLoader",
    )
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument(
        "--out", type=output_folder, help="folder for the loss curve and result.json"
    )
    train.add_argument(
        "--json", action="store_true", help="result as one JSON object on the last stdout line"
    )

    launch = commands.add_parser(
        "launch",
        help="run `train` (or any command) as parameter-server workers "
        "through MXNet's own launcher; every process is stopped at the end",
    )
    launch.add_argument(
        "--workers", type=positive_int("--workers"), default=2, help="worker processes"
    )
    launch.add_argument(
        "--servers", type=positive_int("--servers"), default=1, help="server processes"
    )
    launch.add_argument(
        "--launcher",
        choices=("local", "ssh", "mpi"),
        default="local",
        help="local processes (default), or the machines of --hostfile over ssh or mpirun",
    )
    launch.add_argument(
        "--hostfile", type=Path, help="one host a line: HOST, USER@HOST, HOST:PORT, HOST slots=N"
    )
    launch.add_argument(
        "--scheduler-host",
        metavar="ADDRESS",
        help="ssh, mpi: this machine's address the scheduler listens on "
        "(default: the one that reaches the first host)",
    )
    launch.add_argument(
        "--scheduler-port",
        type=int,
        default=0,
        metavar="PORT",
        help="ssh, mpi: the scheduler's TCP port (default: a free one)",
    )
    launch.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a variable for every process (its value here unless given); repeatable",
    )
    launch.add_argument(
        "--workdir", metavar="DIR", help="where the processes run on every host (default: here)"
    )
    launch.add_argument(
        "--timeout",
        type=number_type("--timeout", checks.positive),
        default=300.0,
        help="stop everything after this many seconds (default 300)",
    )
    launch.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="train [train arguments], or any program and its arguments",
    )

    make = commands.add_parser("make-data", help="regenerate data/house_prices.csv and .json")
    make.add_argument(
        "--out", type=data_file, default=None, help="CSV path (default data/house_prices.csv)"
    )
    make.add_argument("--force", action="store_true", help="overwrite existing files")
    return parser


def _list():
    from ..lessons import LESSONS, is_written

    for lesson in LESSONS:
        state = "" if is_written(lesson) else "  (planned)"
        print("%2d  %-16s %s%s" % (lesson.number, lesson.slug, lesson.title, state))
    return 0


def _run(args):
    from .. import files, lessons
    from . import memory, settings

    lesson = lessons.find(args.lesson)
    try:
        return _run_lesson(lesson, args)
    except (
        settings.SettingError,
        memory.NotEnoughMemory,
        files.ProtectedFolder,
        KeyboardInterrupt,
        OSError,
    ) + _run_errors():
        raise  # bad input (settings too large for memory too), a failed run, Ctrl-C: one line each in main
    except Exception as error:  # a fault in the lesson or the library, not in what the user typed
        if _out_of_memory(error):
            said = (str(error).strip().splitlines() or [type(error).__name__])[-1][:200]
            return _fail(
                "lesson %s ran out of memory (%s); try smaller settings (--help-settings lists them)"
                % (lesson.slug, said),
                RUN_ERROR,
            )
        traceback.print_exc()
        return _fail("lesson %s failed; the traceback above shows where" % lesson.slug, RUN_ERROR)


def _run_lesson(lesson, args):
    """What `run LESSON` does with parsed options; returns the exit code."""
    from .. import lessons
    from . import runner, settings

    if args.help_settings:
        defaults, quick = settings.defaults_of(lessons.source_path(lesson))
        for name, default in defaults.items():
            if name not in ("seed", "out_dir"):
                print(
                    "%s=%r%s"
                    % (name, default, "   (--quick: %r)" % (quick[name],) if name in quick else "")
                )
        return 0
    default_out = runner.OUTPUT_ROOT / lesson.slug
    out_dir = (
        args.out
        if args.out is not None
        else settings.check_out_dir(default_out, "--out (default %s)" % default_out)
    )
    findings = runner.run_lesson(
        lesson.slug,
        quick=args.quick,
        seed=args.seed if args.seed is not None else 0,
        out_dir=out_dir,
        settings=dict(args.set),
    )
    if args.json:
        print(runner.to_json(findings))
    return 0


def _out_of_memory(error):
    """True for NumPy's and MXNet's ways of saying an array does not fit."""
    return isinstance(error, MemoryError) or (
        type(error).__name__ == "MXNetError"
        and any(text in str(error) for text in ("Failed to allocate", "larger than 2^31 elements"))
    )


class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command was, so that it can clean up like after Ctrl-C."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _terminations_as_interrupts():
    def stop(signum, frame):
        raise _Signalled(signum)

    numbers = (signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _notebook(args):
    from .. import lessons
    from . import notebooks

    chosen = (
        [lesson for lesson in lessons.LESSONS if lessons.is_written(lesson)]
        if args.lesson == "all"
        else [lessons.find(args.lesson)]
    )
    for lesson in chosen:
        if args.execute:
            print(
                "executing lesson %d (%s) ..." % (lesson.number, lesson.slug),
                file=sys.stderr,
                flush=True,
            )
        try:
            with _terminations_as_interrupts():  # the kernel is stopped, nothing is left behind
                path = notebooks.write_notebook(
                    lesson.slug, args.out, execute=args.execute, quick=args.quick, seed=args.seed
                )
        except notebooks.NotebookError as error:
            return _fail("lesson %s as a notebook: %s" % (lesson.slug, error), RUN_ERROR)
        print("wrote %s" % path, file=sys.stderr)
    print(
        "open them with: jupyter lab %s   (or in VS Code: File > Open Folder)" % args.out,
        file=sys.stderr,
    )
    return 0


def _walkthrough(args):
    import time

    from .. import lessons
    from . import runner

    course = [lesson for lesson in lessons.LESSONS if lessons.is_written(lesson)]
    started = time.perf_counter()
    for k, lesson in enumerate(course, start=1):
        print(f"\n[{k}/{len(course)}] lesson {lesson.number} - {lesson.title}", flush=True)
        begun = time.perf_counter()
        runner.run_lesson(
            lesson.slug, out_dir=Path(args.out) / lesson.slug, seed=args.seed, quick=args.quick
        )
        took = time.perf_counter() - begun
        print(f"[{k}/{len(course)}] lesson {lesson.number} took {took:.0f} s", flush=True)
    print(
        f"\nAll {len(course)} lessons in {time.perf_counter() - started:.0f} s; figures are in {args.out}/"
    )
    return 0


def _exercise_lessons(name):
    from .. import lessons

    if name == "all":
        return [lesson.number for lesson in lessons.LESSONS]
    return [lessons.find(name).number]


def _check(args):
    """Every worked solution through its check: one line per exercise; exit 0 only if all pass."""
    from .. import exercises

    failed = 0
    for number in _exercise_lessons(args.lesson):
        results, _ = exercises.run_solutions(number)
        for result in results:
            verdict = "correct" if result.passed else "not yet: " + result.message
            print(
                f"exercise {result.exercise.name:5s} {result.exercise.title}: {verdict}", flush=True
            )
            failed += not result.passed
        if len(results) < len(exercises.exercises(number)):
            print(
                f"lesson {number}: its solutions checked {len(results)} of "
                f"{len(exercises.exercises(number))} exercises",
                flush=True,
            )
            failed += 1
    return RUN_ERROR if failed else 0


def _solution(args):
    from .. import exercises

    number = _exercise_lessons(args.lesson)[0]
    print(exercises.solution_text(number, args.exercise), end="")
    print(
        f"\n# as a notebook: jupytext --to ipynb -o solutions{number:02d}.ipynb "
        f"{exercises.solution_path(number)}",
        file=sys.stderr,
    )
    return 0


def _train(args):
    from .. import devices, model, plots
    from . import outputs, train

    dataset = train.training_data(
        args.data, args.num_examples, args.true_w, args.true_b, args.noise, args.seed
    )
    # The fast loader trains through the fused path where it applies (one device, batches it is faster on).
    path = train.choose_path(args.loader, args.ctx, args.batch_size, dataset.num_features)
    result = train.train_linear_regression(
        dataset,
        batch_size=args.batch_size,
        lr=args.lr,
        momentum=args.momentum,
        optimizer=args.optimizer,
        num_epochs=args.epochs,
        ctx=args.ctx,
        seed=args.seed,
        loader=args.loader,
        path=path,
        progress=None,
    )
    ols_w, ols_b = model.least_squares(dataset.features, dataset.labels)
    summary = {
        "weight": result.weight.tolist(),
        "bias": result.bias,
        "true_weight": list(dataset.true_w) if dataset.true_w is not None else None,
        "true_bias": dataset.true_b,
        "ols_weight": ols_w.tolist(),
        "ols_bias": ols_b,
        "loss": model.mean_l2_loss(dataset.features, dataset.labels, result.weight, result.bias),
        "epoch_loss": result.history.epoch_loss,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "optimizer": args.optimizer,
        "ctx": devices.ctx_names(result.contexts),
        "seed": args.seed,
        "num_examples": dataset.num_examples,
        "loader": args.loader,
        "seconds_per_epoch": result.history.median_seconds_per_epoch,
        "path": result.history.path,
    }
    if args.json:  # first, so a failure to write files below cannot lose the result
        print(outputs.json_text(summary), flush=True)
    for epoch, value in enumerate(result.history.epoch_loss, start=1):
        print("epoch %d, loss: %f" % (epoch, value), file=sys.stderr)
    names = dataset.feature_names
    print(
        "weight %s   bias %.6f" % (dict(zip(names, result.weight.astype(float).round(6).tolist())), result.bias),
        file=sys.stderr,
    )
    print(
        "least squares %s   bias %.6f" % (dict(zip(names, ols_w.round(6).tolist())), ols_b),
        file=sys.stderr,
    )
    if args.out is not None:
        try:  # result.json and loss.png move into --out together, under its lock: one run's files
            with outputs.staged(args.out) as staging:
                (staging / "result.json").write_text(outputs.json_text(summary, indent=2) + "\n")
                plots.loss_curves({"full-data loss": result.history.epoch_loss}, staging, "loss")
        except OSError as error:
            return _fail(
                "could not write the results into %s: %s" % (args.out, error.strerror or error),
                RUN_ERROR,
            )
        print("wrote %s" % args.out, file=sys.stderr)
    return 0


def _launch(args):
    from . import launcher as distributed

    command = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not command:
        raise ValueError(
            "launch needs a command after --, e.g. gluon-lessons launch --workers 2 -- train --epochs 3"
        )
    settings = dict(scheduler_host=args.scheduler_host, scheduler_port=args.scheduler_port,
                    workdir=args.workdir)
    # the launch and the hostfile first: they are checked without importing MXNet
    distributed.check_launch(args.workers, args.servers, args.launcher, args.hostfile,
                             args.timeout, **settings)
    env = distributed.parse_env(args.env)
    if command[0] == "train":  # checked here, so a bad setting stops before any process starts
        from . import worker

        worker.parse_arguments(command[1:], args.workers, args.workdir)
        command = distributed.train_command(command[1:])
    try:
        result = distributed.launch(
            command,
            args.workers,
            args.servers,
            args.launcher,
            args.hostfile,
            args.timeout,
            echo=sys.stdout,
            env=env,
            **settings,
        )
    except distributed.LaunchError as error:
        return _fail(str(error), RUN_ERROR)
    except distributed.Interrupted as interrupt:
        return _fail(
            "interrupted by %s; stopped every process it started" % interrupt,
            128 + interrupt.signum,
        )
    stopped = (
        "; stopped %s, still running %g s after the last worker"
        % (", ".join(result.stopped), distributed.FINISH_GRACE_SECONDS)
        if result.stopped
        else ""
    )
    print(
        "%d worker(s) and %d server(s) finished in %.1f s%s"
        % (args.workers, args.servers, result.seconds, stopped),
        file=sys.stderr,
    )
    return 0


def _make_data(args):
    from .. import data
    from . import datafiles, outputs

    default = datafiles.DEFAULT_CSV
    target = (
        args.out
        if args.out is not None
        else outputs.check_data_file(default, None, default=default)
    )
    csv_path, json_path = datafiles.save_dataset(data.walkthrough_data(), target, args.force)
    print("wrote %s and %s" % (csv_path, json_path), file=sys.stderr)
    return 0


def _tolerant_streams():
    """Characters the terminal's encoding lacks (PYTHONIOENCODING=ascii) print as escapes such as \\xb2."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(Exception):
                stream.reconfigure(errors="backslashreplace")


def _run_errors():
    """DeviceError, DivergenceError and LaunchError, from those of their modules the command imported (importing
    MXNet is slow)."""
    names = (("gluon_lessons.devices", "DeviceError"), ("gluon_lessons.training", "DivergenceError"),
             ("gluon_lessons.shell.launcher", "LaunchError"))
    return tuple(getattr(sys.modules[module], name) for module, name in names if module in sys.modules)


def _lesson_parser(lesson, prog):
    """`gluon-lessons run LESSON`'s options alone, for `python -m gluon_lessons.lessons.lessonNN_slug`."""
    from .. import lessons

    parser = Parser(prog=prog, description=lessons.find(lesson).title)
    arguments.add_run_arguments(parser)
    parser.set_defaults(command="run", lesson=lesson)
    return parser


_interrupted = False


def _on_interrupt(signum, frame):
    """Python's own SIGINT behaviour, remembered: an interrupt inside a C extension's import (NumPy's) can
    surface as an ImportError instead of KeyboardInterrupt, and must still end as `interrupted`."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _standard_streams():
    """A closed stdout or stderr (`>&-`) becomes /dev/null, so print() has somewhere to write and no file
    the command opens takes the closed stream's number (and with it the command's output); the names
    of the closed streams."""
    closed = []
    for fd, name in ((1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "w", closefd=False))
            closed.append(name)
    return closed


def main(argv=None, *, lesson=None, prog=None):
    """Entry point of `gluon-lessons` and `python -m gluon_lessons`; returns the exit code.

    2: bad input (one line on stderr); 1: a failed run; 130: Ctrl-C; killed by SIGPIPE (141 in a
    shell) or 141 when the reader of stdout goes away. With `lesson` (and `prog`, the name in
    messages): `run LESSON`, as `python -m gluon_lessons.lessons.lessonNN_slug` runs it.
    """
    from . import environment

    command_line = argv is None
    if command_line:
        if "stdout" in _standard_streams():
            print(
                "gluon-lessons: warning: standard output is closed; what it shows is discarded",
                file=sys.stderr,
            )
        if hasattr(signal, "SIGPIPE"):  # end quietly when the reader goes away
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        for warning in environment.make_safe(os.environ):  # before MXNet or matplotlib read them
            print("gluon-lessons: warning: " + warning, file=sys.stderr)
    handler = signal.getsignal(signal.SIGINT)
    course_handler = getattr(handler, "course_interrupt", False)
    if command_line and (handler is signal.default_int_handler or course_handler):
        signal.signal(signal.SIGINT, _on_interrupt)
    _tolerant_streams()
    try:
        try:
            parser = build_parser() if lesson is None else _lesson_parser(lesson, prog)
            args = parser.parse_args(argv)
        except SystemExit as stop:
            return stop.code
        handlers = {
            "list": lambda a: _list(),
            "run": _run,
            "notebook": _notebook,
            "walkthrough": _walkthrough,
            "check": _check,
            "solution": _solution,
            "train": _train,
            "make-data": _make_data,
            "launch": _launch,
        }
        try:
            code = handlers[args.command](args)
            sys.stdout.flush()  # here, so a closed pipe is noticed while it can still be handled
            return code
        except (ValueError, FileExistsError) as error:
            return _fail(str(error), USAGE_ERROR)
        except MemoryError:
            return _fail("out of memory; try fewer examples or features", RUN_ERROR)
        except BrokenPipeError:
            raise
        except OSError as error:
            where = "%s: " % (error.filename,) if error.filename else ""
            return _fail(where + str(error.strerror or error), RUN_ERROR)
        except RuntimeError as error:
            if isinstance(error, _run_errors()):
                return _fail(str(error), RUN_ERROR)
            raise
    except KeyboardInterrupt as interrupt:  # also while MXNet is still being imported
        signum = getattr(interrupt, "signum", None)
        if signum is not None:  # SIGTERM or SIGHUP
            return _fail("interrupted by %s" % signal.Signals(signum).name, 128 + signum)
        return _fail("interrupted", 130)
    except (
        BrokenPipeError
    ):  # the reader of stdout went away (the command line ends by SIGPIPE first)
        with contextlib.suppress(OSError):  # later writes and Python's flush at exit go nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except Exception as error:
        if _interrupted:  # whatever the interrupt turned into on its way up
            return _fail("interrupted", 130)
        if _out_of_memory(
            error
        ):  # MXNet could not allocate (a memory limit below what was checked)
            said = (str(error).strip().splitlines() or [type(error).__name__])[-1][:200]
            return _fail(f"out of memory ({said}); try fewer examples or features", RUN_ERROR)
        raise


if __name__ == "__main__":
    sys.exit(main())

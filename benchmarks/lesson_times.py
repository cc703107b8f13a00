"""How long each lesson takes and how much memory it holds, at its default settings and with --quick.

Each lesson runs in a fresh process, as a learner runs it: `gluon-lessons run N --out <tmp>` (and
`--quick`), started as `python -m gluon_lessons` with this interpreter. The time is wall-clock seconds of that process, MXNet's import included; the peak is the
kernel's maximum resident memory of the process and the processes it started and waited for
(ru_maxrss from wait4). The lessons are whatever the checkout holds: the script only measures.

Run it:  make bench-lessons   (or `make bench`, which runs the training-path benchmark first)
   or:   python benchmarks/lesson_times.py [--lessons 1,5,7] [--no-defaults] [--no-quick] [--json]
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "gluon_lessons" / "lessons"
DEFAULT_TARGET_SECONDS = 15  # each lesson at its defaults, on a 2-core machine
QUICK_TARGET_SECONDS = 5  # each lesson with --quick
MB = 1e6


def lesson_numbers():
    """The lesson numbers of the checkout, from the files gluon_lessons/lessons/lessonNN_*.py."""
    found = (re.match(r"lesson(\d\d)_\w+\.py$", path.name) for path in LESSONS.glob("lesson*.py"))
    return sorted(int(match.group(1)) for match in found if match)


def command():
    """`gluon-lessons` as this interpreter runs it (`python -m gluon_lessons`, the same command line,
    whatever an installed script points to)."""
    return [sys.executable, "-m", "gluon_lessons"]


def run_lesson(number, quick, folder):
    """(seconds, peak bytes, exit code, the end of stderr) of one lesson run in its own process."""
    argv = command() + ["run", str(number), "--out", os.path.join(folder, f"lesson{number}")]
    if quick:
        argv.append("--quick")
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=folder)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
    return seconds, usage.ru_maxrss * 1024, code, tail[0][-160:]


def table(results, modes):
    heads = {"default": "at defaults", "quick": "with --quick"}
    lines = [f"{'lesson':>6}" + "".join(f"  {heads[m] + ' s':>16} {'peak MB':>8}" for m in modes)]
    for number, row in sorted(results.items()):
        cells = []
        for mode in modes:
            seconds, peak, code, _ = row[mode]
            mark = "" if code == 0 else f" (exit {code})"
            cells.append(f"  {f'{seconds:.1f}{mark}':>16} {peak / MB:>8.0f}")
        lines.append(f"{number:>6}" + "".join(cells))
    for mode in modes:
        target = DEFAULT_TARGET_SECONDS if mode == "default" else QUICK_TARGET_SECONDS
        total = sum(row[mode][0] for row in results.values())
        over = [str(n) for n, row in sorted(results.items()) if row[mode][0] > target]
        lines.append(f"{heads[mode]}: {total:.0f} s in all; over {target} s: {', '.join(over) or 'none'}")
    failed = [f"lesson {n} {mode}: {row[mode][3]}" for n, row in sorted(results.items()) for mode in modes
              if row[mode][2] != 0]
    return "\n".join(lines + failed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", help="a comma list of lesson numbers (default: every lesson)")
    parser.add_argument("--no-defaults", action="store_true", help="only the --quick runs")
    parser.add_argument("--no-quick", action="store_true", help="only the runs at default settings")
    parser.add_argument("--json", action="store_true", help="also print the numbers as JSON on the last line")
    args = parser.parse_args(argv)
    available = lesson_numbers()
    try:
        numbers = available if args.lessons is None else [int(n) for n in args.lessons.split(",")]
    except ValueError:
        parser.error(f"--lessons takes a comma list of numbers, got {args.lessons!r}")
    unknown = sorted(set(numbers) - set(available))
    if unknown:
        parser.error(f"no lesson {', '.join(map(str, unknown))}; the lessons are {', '.join(map(str, available))}")
    modes = [m for m, skip in (("default", args.no_defaults), ("quick", args.no_quick)) if not skip]
    if not modes:
        parser.error("--no-defaults and --no-quick together leave nothing to run")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; "
          "gluon-lessons run N --out <tmp> (python -m gluon_lessons)")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for number in numbers:
            results[number] = {mode: run_lesson(number, mode == "quick", folder) for mode in modes}
            print(f"  lesson {number}: " + ", ".join(f"{mode} {r[0]:.1f} s, {r[1] / MB:.0f} MB"
                                                     for mode, r in results[number].items()), flush=True)
    print(table(results, modes))
    if args.json:
        print(json.dumps({str(n): {mode: {"seconds": r[0], "peak_mb": r[1] / MB, "exit": r[2]}
                                   for mode, r in row.items()} for n, row in results.items()}))
    return 1 if any(r[2] != 0 for row in results.values() for r in row.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

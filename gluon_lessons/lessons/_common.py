"""What every lesson shares: its command line, headings, and the findings it returns."""
import argparse
import json
import sys
from pathlib import Path

OUTPUT_ROOT = Path("lesson_output")


def output_dir(slug, out_dir=None):
    """`out_dir` if given, else `lesson_output/<slug>` under the current directory."""
    return Path(out_dir) if out_dir is not None else OUTPUT_ROOT / slug


def heading(text):
    print("\n## " + text)


def to_json(findings):
    """Findings as one line of JSON (NumPy numbers and arrays become plain numbers and lists)."""
    def plain(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        if isinstance(value, Path):
            return str(value)
        raise TypeError("cannot put %r in JSON" % (value,))
    return json.dumps(findings, default=plain, sort_keys=True)


def lesson_main(run, description, argv=None):
    """`python -m gluon_lessons.lessons.lessonNN_x [--out DIR] [--seed N] [--quick] [--json]`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=None, help="folder for figures (default lesson_output/<slug>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small settings, as the tests use")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON on the last line")
    args = parser.parse_args(argv)
    findings = run(out_dir=args.out, seed=args.seed, quick=args.quick)
    if args.json:
        print(to_json(findings))
    sys.stdout.flush()
    return findings

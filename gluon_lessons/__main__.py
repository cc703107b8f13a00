"""`python -m gluon_lessons` and the `gluon-lessons` command start here.

Nothing heavy is imported before Ctrl-C is handled: from this module's first line on, an interrupt
(even one that lands while NumPy or MXNet are still importing) ends as one line and exit code 130.
"""
import signal
import sys


def _interrupt(signum, frame):
    raise KeyboardInterrupt


_interrupt.course_interrupt = True  # the CLI replaces this handler with its own once it is imported


def main():
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    try:
        from .shell.cli import main as run
    except KeyboardInterrupt:
        print("gluon-lessons: error: interrupted", file=sys.stderr)
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())

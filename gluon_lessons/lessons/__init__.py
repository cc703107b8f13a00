"""The course: one module per lesson, in order. `gluon-lessons list` prints this table."""
import collections
import sys
from pathlib import Path

Lesson = collections.namedtuple("Lesson", "number slug module title")

LESSONS = (
    Lesson(1, "data", "lesson01_data", "House-price data: features, noise, raw and standardized"),
    Lesson(2, "batches", "lesson02_batches", "Batch, epoch, shuffle: a hand-written iterator and DataLoader"),
    Lesson(3, "scratch", "lesson03_scratch", "Linear regression from scratch: autograd, SGD, momentum"),
    Lesson(4, "gluon", "lesson04_gluon", "The Gluon walkthrough: Dense, L2Loss, Trainer, weights checked"),
    Lesson(5, "momentum", "lesson05_momentum", "Momentum: a weighted sum of past gradients; theory vs measurement"),
    Lesson(6, "batch-time", "lesson06_batch_time", "Batch size and time: per update and per epoch"),
    Lesson(7, "batch-noise", "lesson07_batch_noise", "Batch size and noise: gradient variance, noise scale"),
    Lesson(8, "critical-points", "lesson08_critical_points", "Critical points: Hessian, eigenvalues, saddle escape"),
    Lesson(9, "sharp-flat", "lesson09_sharp_flat", "Sharp and flat minima: small vs large batch"),
    Lesson(10, "adaptive", "lesson10_adaptive", "Rprop and RMSProp: gradients of very different sizes"),
    Lesson(11, "distributed", "lesson11_distributed", "Data parallel and distributed training"),
)


def source_path(lesson):
    """The lesson's percent-format file."""
    return Path(__file__).resolve().parent / (lesson.module + ".py")


def is_written(lesson):
    return source_path(lesson).is_file()


def find(name):
    """A lesson by number (`4`) or slug (`gluon`); `ValueError` lists the choices."""
    text = str(name).strip().lower()
    for lesson in LESSONS:
        if text in (str(lesson.number), lesson.slug, lesson.module):
            if not is_written(lesson):
                raise ValueError("lesson %d (%s) is planned but not written yet" % (lesson.number, lesson.slug))
            return lesson
    raise ValueError("unknown lesson %r; choose a number 1-%d or one of: %s"
                     % (name, len(LESSONS), ", ".join(l.slug for l in LESSONS)))


def _one_line_on_ctrl_c_for_lesson_scripts():
    """`python -m gluon_lessons.lessons.lessonNN_slug`: a Ctrl-C while the lesson's first cell still imports
    MXNet (before `gluon_lessons.shell.cli.main` runs) ends as in `gluon-lessons`: one line, no traceback."""
    argv = list(getattr(sys, "orig_argv", ()))  # the interpreter's own command line (Python 3.10+)
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    if not module.startswith(__name__ + ".lesson"):
        return
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):  # Python then ends the process by SIGINT, as Ctrl-C does
            print("gluon-lessons: error: interrupted", file=sys.stderr)
        else:
            previous(kind, value, traceback)
    sys.excepthook = hook


_one_line_on_ctrl_c_for_lesson_scripts()

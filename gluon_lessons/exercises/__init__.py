"""Self-checks for the lessons' exercises: `check(lesson, number, answer)` where you work.

Every lesson ends with exercises whose answer a program can judge: a number, an array, a
function you write, or one of a few named choices. `check` compares your answer with a truth it
computes right then (least squares on fresh data, an analytic rate, MXNet's own optimizer run
on your inputs, ...) and prints one of two things:

    Exercise 3.1 (the SGD step): correct - ... (the evidence: what it compared, the tolerance)
    Exercise 3.1 (the SGD step): not yet - ... (one hint at what differs, never the answer)

A wrong answer never raises. Worked solutions live apart, in `gluon_lessons/solutions/`
(`gluon-lessons solution N` prints one; `gluon-lessons check all` runs them all through these checks).
"""

import contextlib
import dataclasses
import importlib
import io
import runpy
import textwrap
from pathlib import Path

LESSON_MODULES = {
    1: "lesson01",
    2: "lesson02",
    3: "lesson03",
    4: "lesson04",
    5: "lesson05",
    6: "lesson06",
    7: "lesson07",
    8: "lesson08",
    9: "lesson09",
    10: "lesson10",
    11: "lesson11",
}
WIDTH = 100  # printed lines fit a notebook


@dataclasses.dataclass(frozen=True)
class Exercise:
    lesson: int
    number: int
    title: str
    judge: object  # judge(answer) -> (passed, evidence or hint)
    question: str  # what to write, in one or two sentences

    @property
    def name(self):
        return f"{self.lesson}.{self.number}"


@dataclasses.dataclass
class Result:
    exercise: Exercise
    passed: bool
    message: str

    def __bool__(self):
        return self.passed

    def __str__(self):
        verdict = "correct" if self.passed else "not yet"
        text = f"Exercise {self.exercise.name} ({self.exercise.title}): {verdict} - {self.message}"
        return textwrap.fill(text, WIDTH, subsequent_indent="    ")

    def _ipython_display_(self):
        """`check` already printed the result: a notebook shows it once, not again as the cell's value."""


_REGISTRY = {}
_RECORDING = []  # while solutions run: the list their checks' results go to
SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def exercise(lesson, number, title, question):
    """Register the function below it as the judge of exercise `lesson.number`."""

    def register(judge):
        _REGISTRY[(lesson, number)] = Exercise(
            lesson, number, title, judge, " ".join(question.split())
        )
        return judge

    return register


def _load(lesson):
    if lesson not in LESSON_MODULES:
        raise ValueError(f"no lesson {lesson!r}: lessons are numbered 1 to {len(LESSON_MODULES)}")
    importlib.import_module(f"{__name__}.{LESSON_MODULES[lesson]}")


def exercises(lesson=None):
    """The registered exercises, of one lesson or of all, in order: the one list the lessons, the
    command line, the tests and the book use."""
    for number in [lesson] if lesson is not None else LESSON_MODULES:
        _load(number)
    return [_REGISTRY[key] for key in sorted(_REGISTRY) if lesson is None or key[0] == lesson]


def find(lesson, number):
    """Exercise `lesson.number`, or ValueError naming the exercises the lesson has."""
    _load(lesson)
    if (lesson, number) not in _REGISTRY:
        have = ", ".join(str(item.number) for item in exercises(lesson))
        raise ValueError(f"lesson {lesson} has no exercise {number!r}; its exercises are {have}")
    return _REGISTRY[(lesson, number)]


def judge(lesson, number, answer):
    """The Result for `answer`, printed nowhere (the tests and `gluon-lessons check` use it)."""
    item = find(lesson, number)
    if answer is None:
        return Result(item, False, f"no answer yet: {item.question}")
    try:
        passed, message = item.judge(answer)
    except (
        Exception
    ) as error:  # a learner's function may raise anything; that is an answer to look at
        first = str(error).splitlines()[0] if str(error) else ""
        passed, message = False, f"using your answer raised {type(error).__name__}: {first}"[:300]
    return Result(item, bool(passed), message)


def check(lesson, number, answer=None):
    """Judge your `answer` to exercise `lesson.number`, print "correct" with the evidence or
    "not yet" with a hint, and return the result (true when correct)."""
    result = judge(lesson, number, answer)
    if _RECORDING:
        _RECORDING[-1].append(result)
    print(result)
    return result


def solution_path(lesson):
    """The worked solutions of lesson `lesson`: gluon_lessons/solutions/lessonNN_slug.py."""
    _load(lesson)
    found = sorted(SOLUTIONS.glob(f"lesson{lesson:02d}_*.py"))
    if not found:
        raise ValueError(f"lesson {lesson} has no worked solutions")
    return found[0]


def solution_text(lesson, number=None):
    """The solutions file of `lesson` as text, or only the section of exercise `number`."""
    text = solution_path(lesson).read_text(encoding="utf-8")
    if number is None:
        return text
    find(lesson, number)
    sections = text.split("# ## Exercise ")
    for section in sections[1:]:
        if section.split(" ", 1)[0] == str(number):
            return "# ## Exercise " + section.rstrip() + "\n"
    raise ValueError(f"the solutions of lesson {lesson} have no section for exercise {number}")


def run_solutions(lesson):
    """Run lesson `lesson`'s worked solutions; (the Result of every check they made, printed text)."""
    path = solution_path(lesson)
    results, printed = [], io.StringIO()
    _RECORDING.append(results)
    try:
        with contextlib.redirect_stdout(printed):
            runpy.run_path(str(path), run_name="__solutions__")
    finally:
        _RECORDING.pop()
    return results, printed.getvalue()

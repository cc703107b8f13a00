"""Worked solutions to the lessons' exercises: one percent-format file per lesson (a notebook too).

Kept apart from the lessons so that scrolling a lesson does not reveal them. Each solution computes
its answer and hands it to `gluon_lessons.exercises.check`: running a file checks every answer.
"""

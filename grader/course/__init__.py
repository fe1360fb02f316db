"""The course: ``course.toml`` and each TP's ``assignment.toml`` (``model``: what they say;
``load``: reading and validating them), the late policy (``late``) and the sandbox limits a course
sets (``limits``). Names a program needs are exported here."""

from grader.course.limits import Limits
from grader.course.load import find_course, load_assignment, load_course
from grader.course.model import (
    ASSIGNMENT_FILE,
    COURSE_FILE,
    VISIBILITIES,
    Assignment,
    Course,
    Exercise,
    FormColumns,
    MoodleSettings,
    RosterSettings,
    TPEntry,
)

__all__ = [
    "ASSIGNMENT_FILE",
    "COURSE_FILE",
    "VISIBILITIES",
    "Assignment",
    "Course",
    "Exercise",
    "FormColumns",
    "Limits",
    "MoodleSettings",
    "RosterSettings",
    "TPEntry",
    "find_course",
    "load_assignment",
    "load_course",
]

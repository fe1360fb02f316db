"""The late policy: deadlines, extensions, late days and the penalty. Pure functions, no I/O.

``course.toml`` declares it (parsed and validated by ``grader.course``)::

    [calendar]
    timezone = "America/Argentina/Buenos_Aires"
    classes = ["2026-08-19", "2026-08-26", ...]
    due_days_after_class = 2        # the course's rule: due at 23:00 two days after the class
    due_time = "23:00"

    [[tp]]
    name = "tp1"
    closes_after_class = 4          # or: deadline = "2026-09-11T23:00" (course timezone)

    [late]
    grace_minutes = 15
    penalty_per_day = 0.1           # fraction of the TP's score per day late; or table = [0.1, 0.3]
    cap = 0.5                       # the most a late submission loses (fraction)
    max_days = 7                    # later than this: the TP scores 0

    [late.extensions]               # per student id (padrón)
    "100003" = 3                    # 3 more days on every TP
    "100004" = { tp2 = "2026-10-02T23:00", tp3 = 2 }   # per TP: a new deadline or extra days

The rules:

- Late days are ``ceil((submitted - deadline - grace) / 1 day)``, and 0 when that is not positive.
  Time differences are taken in UTC, so a daylight-saving change between the deadline and the
  submission does not move anything by an hour.
- Extra days move the deadline by whole calendar days in its own timezone (23:00 stays 23:00).
- The penalty is a fraction of the TP's score: ``days * penalty_per_day``, or ``table[days - 1]``
  (days past the end of the table use its last entry), never more than ``cap``. Past ``max_days``
  the fraction is 1: the TP scores 0, whatever the cap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

ALL_TPS = "*"
"""Key of an extension that applies to every TP."""

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Extension:
    """One student's extension for one TP (or every TP)."""

    extra_days: float = 0.0
    """Days added to the deadline, in the deadline's own timezone."""
    deadline: dt.datetime | None = None
    """A new deadline that replaces the TP's (timezone-aware); wins over ``extra_days``."""


@dataclass(frozen=True)
class LatePolicy:
    """The ``[late]`` section of ``course.toml``. The default penalises nothing.

    Example::

        LatePolicy(grace_minutes=15, penalty_per_day=0.1, cap=0.5, max_days=7)
    """

    grace_minutes: float = 0.0
    """Minutes after the deadline that still count as on time."""
    penalty_per_day: float = 0.0
    """Fraction of the TP's score lost per day late (ignored when ``table`` is set)."""
    table: tuple[float, ...] = ()
    """Fraction lost for 1, 2, 3... days late; later days use the last entry."""
    cap: float = 1.0
    """The largest fraction a late submission can lose (``max_days`` aside)."""
    max_days: int | None = None
    """More days late than this and the TP scores 0."""
    extensions: Mapping[str, Mapping[str, Extension]] = field(default_factory=dict)
    """Student id -> TP name (or ``"*"``) -> extension."""

    def extension(self, student: str, tp: str) -> Extension | None:
        own = self.extensions.get(student, {})
        return own.get(tp) or own.get(ALL_TPS)


@dataclass(frozen=True)
class LateAssessment:
    """How late one submission was and what it cost."""

    deadline: dt.datetime
    """The deadline that applied to this student (extensions included)."""
    late_days: int
    fraction: float
    """Fraction of the raw score lost."""
    penalty: float
    """Points lost (rounded like scores)."""
    score: float
    """The score after the penalty."""


def deadline_for(deadline: dt.datetime, policy: LatePolicy, *, student: str, tp: str) -> dt.datetime:
    """The deadline that applies to ``student`` in ``tp``: the TP's, or their extension's."""
    extension = policy.extension(student, tp)
    if extension is None:
        return deadline
    if extension.deadline is not None:
        return extension.deadline
    # Aware datetime + timedelta is wall-clock arithmetic in the datetime's own zone: 23:00 on the
    # day before a daylight-saving change plus one day is still 23:00.
    return deadline + dt.timedelta(days=extension.extra_days)


def late_days(submitted: dt.datetime, deadline: dt.datetime, *, grace_minutes: float = 0.0) -> int:
    """Whole days late, rounded up; 0 when on time or within the grace minutes.

    Raises:
        ValueError: a naive datetime (it would be read in the machine's timezone).
    """
    if submitted.tzinfo is None or deadline.tzinfo is None:
        raise ValueError("late_days needs timezone-aware datetimes")
    # Subtracting two datetimes that share a tzinfo object ignores their UTC offsets (wall-clock
    # difference): across a daylight-saving change that is an hour off. Compare in UTC.
    late = (submitted.astimezone(dt.UTC) - deadline.astimezone(dt.UTC)
            - dt.timedelta(minutes=grace_minutes))
    if late <= dt.timedelta(0):
        return 0
    return math.ceil(late / _DAY)


def penalty_fraction(days: int, policy: LatePolicy) -> float:
    """Fraction of the score lost for ``days`` days late (0 <= result <= 1)."""
    if days <= 0:
        return 0.0
    if policy.max_days is not None and days > policy.max_days:
        return 1.0
    if policy.table:
        fraction = policy.table[min(days, len(policy.table)) - 1]
    else:
        fraction = days * policy.penalty_per_day
    return max(0.0, min(fraction, policy.cap, 1.0))


def assess(raw: float, submitted: dt.datetime, deadline: dt.datetime, policy: LatePolicy, *,
           student: str, tp: str, decimals: int = 2) -> LateAssessment:
    """Applies ``policy`` to a raw TP score handed in at ``submitted``.

    Example::

        assess(10.0, submitted, deadline, LatePolicy(penalty_per_day=0.1), student="100002",
               tp="tp1")   # two days late -> penalty 2.0, score 8.0
    """
    own = deadline_for(deadline, policy, student=student, tp=tp)
    days = late_days(submitted, own, grace_minutes=policy.grace_minutes)
    fraction = penalty_fraction(days, policy)
    penalty = round(raw * fraction + 1e-12, decimals) if fraction else 0.0
    return LateAssessment(deadline=own, late_days=days, fraction=fraction, penalty=penalty,
                          score=round(raw - penalty, decimals))

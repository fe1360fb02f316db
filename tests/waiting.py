"""Waiting in tests on a condition, never for a fixed time.

``wait_until`` polls until something has happened (a file appeared, a process ended), bounded by a
generous deadline so a slow machine waits longer instead of failing; a fast one does not wait at
all. (Watching the host for what an attack left running is the red-team lab's own
``attacklab.quiet_for``.)

Imported as ``from waiting import ...``: ``tests/`` is on ``sys.path`` (pytest's prepend import
mode, no ``__init__.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout_s: float, interval_s: float = 0.05,
               what: str = "the condition") -> T:
    """Polls ``predicate`` every ``interval_s`` until it returns something true, and returns it.

    Raises:
        AssertionError: it was still false after ``timeout_s`` (``what`` says what was awaited).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout_s:g} s for {what}; it never happened")
        time.sleep(interval_s)


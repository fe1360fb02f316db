"""What ``analyse`` answers: ``StaticReport``, and how one finding is worded for it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StaticReport:
    """What ``analyse`` found, per function asked about; functions with nothing are left out.

    Example:
        >>> from grader.engine.static import analyse
        >>> analyse("def f(x):\\n    return exec(x)\\n", ["f"], ["torch"]).undecidable
        {'f': ['usa exec (línea 2)']}
    """

    forbidden: dict[str, list[str]] = field(default_factory=dict)
    """Function -> forbidden libraries it certainly uses, sorted: its exercise fails."""
    undecidable: dict[str, list[str]] = field(default_factory=dict)
    """Function -> what it does that cannot be settled statically (Spanish, sorted): staff
    review it by hand; the student is not failed for it."""
    libraries: tuple[str, ...] = ()
    """The forbidden libraries that were looked for."""

    def review_notes(self) -> list[str]:
        """One line per undecidable finding, for the staff log (never the student's report).

        Functions that certainly use a forbidden library are left out: they fail anyway.
        """
        libraries = ", ".join(self.libraries)
        return [f"revisar a mano: {name} {reason}; no se puede decidir estáticamente si usa "
                f"{libraries}" for name, reasons in self.undecidable.items()
                if name not in self.forbidden for reason in reasons]


def _reason(core: str, detail: str, line: int | None, helper: str | None) -> str:
    where = [p for p in (detail, f"en {helper}" if helper else "", f"línea {line}" if line else "") if p]
    return f"{core} ({', '.join(where)})" if where else core

"""The resource limits of one submission's worker, as ``[limits]`` in the course files sets them.

A course setting that the sandbox backends enforce: ``grader.course`` reads it and
``grader.sandbox`` applies it, so it belongs to neither.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from grader.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Resource limits for one submission's worker. Every limit is always set.

    Example:
        >>> Limits(call_timeout_s=30, memory_mb=2048)
    """

    call_timeout_s: float = 10.0
    """CPU-time limit of one call into student code: seconds of CPU its worker's processes use,
    all threads together, so a busy machine does not change it (a check can raise it with
    ``timeout_s``)."""
    import_timeout_s: float = 60.0
    """CPU-time limit for importing the student's module (``import torch`` alone takes seconds)."""
    wall_factor: float = 4.0
    """The wall-clock safety net of a call is this many times its CPU-time limit: it stops code
    that waits rather than computes (sleeps, deadlocks), and its TIMEOUT names load as a possible
    cause."""
    submission_timeout_s: float = 1200.0
    """Wall-clock safety net for all the checks of one submission; later checks get TIMEOUT."""
    memory_mb: int = 4096
    """Address-space limit of the worker (RLIMIT_AS)."""
    cpu_time_s: int = 1800
    """CPU-time limit of the worker (RLIMIT_CPU), summed over its threads."""
    file_size_mb: int = 64
    """Largest file the worker may write (RLIMIT_FSIZE)."""
    processes: int = 64
    """Processes the worker may add (RLIMIT_NPROC above the user's current count, and a pids
    cgroup where one is writable)."""
    open_files: int = 256
    """Open file descriptors (RLIMIT_NOFILE)."""
    threads: int = 1
    """BLAS/OpenMP/torch threads (OMP_NUM_THREADS and friends)."""
    max_message_mb: int = 256
    """Largest reply accepted from the worker."""
    scratch_mb: int = 256
    """Size of the worker's writable ``/tmp`` (docker: a tmpfs of this size)."""
    max_submission_mb: float = 20.0
    """Largest submission file graded; a larger one is refused before any worker starts (a TP's
    code is a few hundred KB; a notebook's outputs count: clearing them makes it small)."""
    retries_per_function: int = 2
    """Consecutive calls of one student function (``linear_forward``, ``MLP.loss``) that may end
    with the worker dead or out of time (TIMEOUT, CRASH, MEMORY) before its later calls get the
    same status at once, without running: its other functions are still graded."""

    @classmethod
    def from_mapping(cls, values: dict[str, Any], *, where: str) -> Limits:
        """Builds limits from a course-file table, naming any unknown or mistyped key."""
        known = {f.name: f for f in fields(cls)}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{where}: clave desconocida {key!r}; "
                                  f"las válidas son {sorted(known)}")
            if type(value) not in (int, float) or value <= 0:
                raise ConfigError(f"{where}.{key} debe ser un número positivo "
                                  f"(llegó {value!r} que es {type(value).__name__})")
        return replace(cls(), **values)

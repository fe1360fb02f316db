"""The one place a sandbox backend is chosen by name.

``SANDBOXES`` maps each ``--backend`` name to the function that makes it; ``Backends`` makes them
for one trusted process, either fresh for every submission or, in a warm process that grades
submission after submission (``grader.batch.warm``), one per setup, each keeping a worker
launched ahead (``grader.sandbox.pool``). Nothing here is module state: whoever grades owns its
``Backends``.

``preflight`` is what a batch checks before grading anything, on this machine or on each cluster
worker: the sandbox can be made (image present, daemon up), no containers of a killed batch are
left, and whether bubblewrap is missing (a warning, not an error).
"""

from __future__ import annotations

from collections.abc import Callable

from grader.errors import UsageError
from grader.sandbox.base import Backend


def _subprocess(*, gpus: str, image: str | None, slot: int) -> Backend:
    from grader.sandbox.subprocess import SubprocessBackend

    return SubprocessBackend(slot=slot, gpus=gpus)


def _docker(*, gpus: str, image: str | None, slot: int) -> Backend:
    from grader.sandbox.docker import DockerBackend

    return DockerBackend(gpus=gpus, image=image, slot=slot)


SANDBOXES: dict[str, Callable[..., Backend]] = {"subprocess": _subprocess, "docker": _docker}
"""The sandbox backends by ``--backend`` name. Adding one is one entry here."""
BACKENDS = (*SANDBOXES, "inprocess")
"""Every backend name; ``inprocess`` runs student code in the calling process (no sandbox: only
``grader check`` on a student's own machine)."""


def new_backend(name: str, *, gpus: str = "none", image: str | None = None, slot: int = 0,
                preload: tuple[str, ...] = ()) -> Backend:
    """A fresh sandbox backend by name; ``image`` applies to docker only; ``slot`` (the job slot)
    picks the sandbox uid and, with ``gpus`` a count N, the GPU (``slot % N``). ``preload``:
    libraries its workers import before they get a submission."""
    if name not in SANDBOXES:
        raise UsageError(f"backend desconocido {name!r}; los disponibles son "
                         f"{', '.join(SANDBOXES)}")
    backend = SANDBOXES[name](gpus=gpus, image=image, slot=slot)
    backend.preload = preload
    return backend


class Backends:
    """The sandbox backends of one trusted process.

    Args:
        prestart: keep one backend per setup, each with a worker launched ahead of the next
            submission (a warm process); otherwise every ``make`` returns a fresh backend.
    """

    def __init__(self, *, prestart: bool = False) -> None:
        self._kept: dict[tuple[object, ...], Backend] | None = {} if prestart else None

    def make(self, name: str, *, gpus: str = "none", image: str | None = None, slot: int = 0,
             preload: tuple[str, ...] = ()) -> Backend:
        if self._kept is None:
            return new_backend(name, gpus=gpus, image=image, slot=slot, preload=preload)
        key = (name, gpus, image, slot, preload)
        if key not in self._kept:
            from grader.sandbox.pool import PrestartedBackend

            self._kept[key] = PrestartedBackend(
                new_backend(name, gpus=gpus, image=image, slot=slot, preload=preload))
        return self._kept[key]


def check_options(name: str, *, gpus: str) -> None:
    """Fails for options no machine could grade with (before connecting to a cluster)."""
    if name not in SANDBOXES:
        raise UsageError(f"backend desconocido {name!r}; los disponibles son "
                         f"{', '.join(SANDBOXES)}")
    from grader.sandbox.gpus import parse_gpus

    parse_gpus(gpus)


def preflight(name: str, *, gpus: str = "none", image: str | None = None) -> str:
    """Checks, before a batch grades anything here, that the sandbox works (raises the backend's
    error otherwise) and clears what a killed batch left; returns a warning for people (empty
    when there is none)."""
    new_backend(name, gpus=gpus, image=image)
    cleanup(name)
    if name == "subprocess":
        from grader.sandbox.subprocess import NO_ISOLATION, bwrap_path

        if bwrap_path() is None:
            return NO_ISOLATION
    return ""


def cleanup(name: str) -> None:
    """Removes what workers of a killed batch left behind (docker: its stopped containers)."""
    if name == "docker":
        from grader.sandbox.docker import remove_leftovers

        remove_leftovers()

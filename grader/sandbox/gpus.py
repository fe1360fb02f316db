"""GPUs for sandboxed workers: the ``--gpus`` request, which GPU a job slot gets, and what a
bubblewrap sandbox must show of the NVIDIA driver (issue 21).

``--gpus none`` (the default), ``all`` (every GPU for every worker) or a count ``N``: job slot
``k`` then gets GPU ``k % N``, one GPU per slot, on both backends (``assigned_gpu``: docker asks
for ``--gpus device=K``; bubblewrap shows only ``/dev/nvidiaK``).

Inside bubblewrap a worker sees a fresh ``/dev`` with no GPU in it. ``NvidiaHost`` finds, when the
backend is made, what CUDA needs from the host: the control nodes (``/dev/nvidiactl``,
``/dev/nvidia-uvm``, ``/dev/nvidia-uvm-tools``), one node per GPU (``/dev/nvidiaN``, N its
minor number) and the user-space driver libraries (``libcuda``, ``libnvidia-*``, from
``ldconfig -p``). ``GpuRequest.binds`` binds the nodes read-write (``--dev-bind``: a node
bound read-only cannot be opened for the driver's ioctls) and, read-only, the libraries that lie
outside the system folders the sandbox already shows (``/usr``, ``/lib``...): a driver under
``/usr/local/nvidia`` or ``/opt``. ``/dev/nvidia-modeset`` (displays) and ``/dev/nvidia-caps``
(MIG) are not shown: grading needs neither.

Once only ``/dev/nvidiaK`` can be opened, CUDA numbers the GPUs it can use from 0, so an index
in ``CUDA_VISIBLE_DEVICES`` would be ambiguous (K, or 0?): ``cuda_environment`` names the GPU by
its UUID, read from ``/proc/driver/nvidia/gpus/*/information``, as NVIDIA recommends; where the
driver does not tell it, ``0`` (the only GPU there). A worker that then does not see CUDA stops
the grading (``grader.engine.session``): never a silent fallback to the CPU.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SandboxUnavailable, UsageError

#: Control nodes every CUDA process opens (the driver's and unified memory's).
CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")
#: Libraries of the user-space driver (``libcuda``, ``libnvidia-ml``, ``libnvidia-ptxjitcompiler``...).
_DRIVER_LIBRARY = re.compile(r"^lib(cuda|nvidia-[a-z0-9-]+|nvcuvid|nvoptix)\.so(\.|$)")
_GPU_NODE = re.compile(r"^nvidia(\d+)$")
_SYSTEM_PREFIXES = ("/usr/", "/lib/", "/lib64/", "/lib32/")
"""What the sandbox already shows read-only (``subprocess._SYSTEM_DIRS``)."""


def parse_gpus(value: str) -> tuple[str, int]:
    """``none``, ``all`` or a count ``N`` -> (kind, count); anything else is a usage error."""
    value = value.strip().lower()
    if value in ("none", "all"):
        return value, 0
    if value.isdigit() and int(value) > 0:
        return "count", int(value)
    raise UsageError(f"--gpus espera 'none', 'all' o un número de GPUs (llegó {value!r})")


def assigned_gpu(slot: int, count: int) -> int:
    """The GPU of job slot ``slot`` when each of ``count`` GPUs serves one slot at a time."""
    return slot % count


@dataclass
class NvidiaHost:
    """What this machine has of the NVIDIA driver; the defaults look at the real one, a test
    passes a fake ``/dev`` folder, ``/proc/driver/nvidia`` folder and library list.

    Args:
        dev: the folder of device nodes.
        driver_proc: the driver's folder in procfs (GPU UUIDs by minor number).
        libraries: paths of the driver's libraries; ``None``: ask ``ldconfig -p``.
    """

    dev: Path = Path("/dev")
    driver_proc: Path = Path("/proc/driver/nvidia")
    libraries: list[str] | None = field(default=None)

    def gpus(self) -> list[int]:
        """Minor numbers of the GPUs, from their nodes (``/dev/nvidia0`` -> 0), sorted."""
        try:
            names = os.listdir(self.dev)
        except OSError:
            return []
        return sorted(int(m.group(1)) for name in names if (m := _GPU_NODE.match(name)))

    def control_nodes(self) -> list[Path]:
        return [self.dev / name for name in CONTROL_NODES if (self.dev / name).exists()]

    def driver_libraries(self) -> list[str]:
        if self.libraries is not None:
            return list(self.libraries)
        try:
            done = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return []
        found: set[str] = set()
        for line in done.stdout.splitlines():
            name, _, path = line.strip().partition(" => ")
            if _DRIVER_LIBRARY.match(name.split(" ")[0]) and path.startswith("/"):
                found.add(path)
        return sorted(found)

    def uuid(self, minor: int) -> str | None:
        """The GPU's UUID (``GPU-...``), from the driver's description of each GPU."""
        try:
            folders = sorted(os.listdir(self.driver_proc / "gpus"))
        except OSError:
            return None
        for folder in folders:
            try:
                text = (self.driver_proc / "gpus" / folder / "information").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            if fields.get("Device Minor", "").strip() == str(minor):
                uuid = fields.get("GPU UUID", "").strip()
                # An uninitialised GPU may show its UUID as question marks.
                return uuid if uuid.startswith("GPU-") and "?" not in uuid else None
        return None


@dataclass(frozen=True)
class GpuRequest:
    """One backend's ``--gpus`` and the GPUs its job slot gets on ``host``.

    Example:
        >>> GpuRequest.parse("2", slot=3).visible(NvidiaHost())   # slot 3 of 2 GPUs: GPU 1
    """

    kind: str
    """``none``, ``all`` or ``count``."""
    count: int = 0
    slot: int = 0

    @classmethod
    def parse(cls, value: str, *, slot: int = 0) -> GpuRequest:
        kind, count = parse_gpus(value)
        return cls(kind, count, slot)

    @property
    def wanted(self) -> bool:
        return self.kind != "none"

    def docker(self) -> str | None:
        """``docker run --gpus``'s value: ``all``, ``device=K``, or None for no GPU."""
        if self.kind == "none":
            return None
        return "all" if self.kind == "all" else f"device={assigned_gpu(self.slot, self.count)}"

    def text(self) -> str:
        """How results and messages name the request (``all``, ``1``...)."""
        return "" if self.kind == "none" else "all" if self.kind == "all" else str(self.count)

    def visible(self, host: NvidiaHost) -> list[int]:
        """The GPUs (minor numbers) this slot's workers get; refuses, naming what is missing,
        when the machine cannot give them (no driver, fewer GPUs than asked for)."""
        if self.kind == "none":
            return []
        present = host.gpus()
        if not present or not (host.dev / "nvidiactl").exists():
            raise SandboxUnavailable(
                f"se pidió GPU (--gpus {self.text()}) pero esta máquina no tiene GPUs NVIDIA "
                f"utilizables: se esperaba {host.dev}/nvidiactl y {host.dev}/nvidia0 "
                f"(hay: {', '.join(p.name for p in host.control_nodes()) or 'ninguno'}); "
                "revisá el driver, o calificá con --gpus none")
        if self.kind == "all":
            return present
        if self.count > len(present):
            raise SandboxUnavailable(f"se pidieron {self.count} GPUs (--gpus {self.count}) pero "
                                     f"esta máquina tiene {len(present)}: "
                                     f"{', '.join(f'nvidia{g}' for g in present)}")
        return [present[assigned_gpu(self.slot, self.count)]]

    def binds(self, host: NvidiaHost) -> list[tuple[str, str, str]]:
        """What bubblewrap adds, after its ``--dev /dev``, to show this slot's GPUs: triples of
        (option, host path, sandbox path)."""
        if self.kind == "none":
            return []
        nodes = [*host.control_nodes(), *(host.dev / f"nvidia{g}" for g in self.visible(host))]
        found = [("--dev-bind", str(node), f"/dev/{node.name}") for node in nodes]
        for library in host.driver_libraries():
            for path in dict.fromkeys([library, os.path.realpath(library)]):
                if not path.startswith(_SYSTEM_PREFIXES) and all(path != b[1] for b in found):
                    found.append(("--ro-bind", path, path))
        return found

    def cuda_environment(self, host: NvidiaHost, *, isolated: bool) -> dict[str, str]:
        """``CUDA_VISIBLE_DEVICES`` for a worker of this slot (nothing for ``all``/``none``).

        In bubblewrap only the slot's GPU can be opened and CUDA calls it 0; unisolated the
        worker sees every GPU, numbered in PCI order (``CUDA_DEVICE_ORDER``) as the nodes are."""
        if self.kind != "count":
            return {}
        gpu = self.visible(host)[0]
        name = host.uuid(gpu) or ("0" if isolated else str(gpu))
        return {"CUDA_VISIBLE_DEVICES": name, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}

    def unreadable_nodes(self, host: NvidiaHost) -> list[str]:
        """Nodes an unprivileged sandbox uid could not open (not read-write for others)."""
        if self.kind == "none":
            return []
        nodes = [*host.control_nodes(), *(host.dev / f"nvidia{g}" for g in self.visible(host))]
        return [str(n) for n in nodes if n.stat().st_mode & 0o006 != 0o006]

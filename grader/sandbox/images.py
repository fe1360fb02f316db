"""``grader image build``: the sandbox images of the docker backend, built without a registry.

The build needs no network inside Docker: Python packages are downloaded on the host into a
wheel cache and copied into the build context, and the base image can be made from Debian's
packages (``debootstrap`` + ``docker import``) where no container registry is reachable. The
build context is assembled deterministically, so rebuilding with nothing changed is a cache hit.

Steps: ``base`` (bootstrap if asked) -> ``probe`` (the base's Python, and whether it has torch)
-> ``wheels`` (download for that Python) -> ``context`` -> ``docker build``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SandboxUnavailable, UsageError
from grader.sandbox.base import runtime_dir
from grader.sandbox.docker import DEFAULT_IMAGES, RUNTIME_LABEL, docker_cli, run_docker, runtime_hash

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"
BOOTSTRAP_BASE = "grader-base:bookworm"
GPU_BASE = "pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


@dataclass
class BuildReport:
    image: str
    base: str
    image_id: str
    size_mb: float
    seconds: float
    cache_hit: bool
    python: str
    torch_from_base: bool


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "grader"
    root.mkdir(parents=True, exist_ok=True)
    return root


def image_id(image: str) -> str:
    done = run_docker("image", "inspect", "--format", "{{.Id}}", image, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def bootstrap_base(tag: str = BOOTSTRAP_BASE, *, mirror: str = DEBIAN_MIRROR,
                   log: Callable[[str], None] | None = None) -> str:
    """Makes a minimal Debian bookworm image with python3 and venv, from Debian's packages."""
    if image_id(tag):
        return tag
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise SandboxUnavailable("para crear la imagen base hace falta debootstrap "
                                 "(apt-get install debootstrap), o pasá --base IMAGEN")
    if os.geteuid() != 0:
        raise SandboxUnavailable("debootstrap necesita root; corré 'grader image build "
                                 "--bootstrap-base' como root o pasá --base IMAGEN")
    with tempfile.TemporaryDirectory(prefix="grader-rootfs-", dir=cache_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        if log:
            log(f"debootstrap bookworm desde {mirror} (un par de minutos)...")
        done = subprocess.run(
            [debootstrap, "--variant=minbase", "--include=python3,python3-venv", "bookworm",
             str(rootfs), mirror], capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxUnavailable(f"debootstrap falló: {(done.stderr or done.stdout)[-1500:]}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run([docker_cli(), "import", "-", tag], stdin=tar.stdout,
                                  capture_output=True, text=True)
        assert tar.stdout is not None
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0:
            raise SandboxUnavailable(f"docker import falló: {imported.stderr[-800:]}")
    return tag


def probe(base: str) -> tuple[str, str, bool]:
    """The base image's Python command, its version ``X.Y`` and whether it has torch."""
    script = ("import sys, importlib.util; print('%d.%d' % sys.version_info[:2], "
              "importlib.util.find_spec('torch') is not None)")
    for python in ("python3", "python"):
        done = run_docker("run", "--rm", "--network", "none", "--entrypoint", python, base, "-c",
                          script, check=False, timeout=300)
        if done.returncode == 0 and done.stdout.split():
            version, has_torch = done.stdout.split()[:2]
            return python, version, has_torch == "True"
    raise SandboxUnavailable(f"la imagen base {base} no tiene python3: {done.stderr[-500:]}")


def download_wheels(python_version: str, requirements: list[str]) -> Path:
    """Downloads the sandbox's packages for ``python_version`` on linux x86_64 into the cache."""
    target = cache_dir() / f"wheels-py{python_version}"
    target.mkdir(parents=True, exist_ok=True)
    args = ["pip", "download", "--quiet", "--dest", str(target), "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp",
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
            "--platform", "manylinux2014_x86_64", "--platform", "any", *requirements]
    done = subprocess.run([sys.executable, "-m", *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxUnavailable("no se pudieron descargar los paquetes de la imagen: "
                                 f"{(done.stderr or done.stdout)[-1500:]}")
    return target


def requirements(torch_from_base: bool) -> list[str]:
    lines = (DOCKER_DIR / "requirements-sandbox.txt").read_text().splitlines()
    wanted = [line.split("#")[0].strip() for line in lines]
    return [r for r in wanted if r and not (torch_from_base and r.startswith("torch"))]


def build_context(wheels: Path, wanted: list[str]) -> Path:
    """The build context: Dockerfile, wheels/ (only what ``wanted`` needs) and runtime/."""
    context = cache_dir() / "context"
    shutil.rmtree(context, ignore_errors=True)
    (context / "wheels").mkdir(parents=True)
    shutil.copyfile(DOCKER_DIR / "Dockerfile", context / "Dockerfile")
    for wheel in sorted(wheels.glob("*.whl")):
        os.link(wheel, context / "wheels" / wheel.name)
    (context / "wheels" / "requirements.txt").write_text("\n".join(wanted) + "\n")
    runtime = runtime_dir()
    shutil.copytree(runtime, context / "runtime")
    shutil.rmtree(runtime, ignore_errors=True)
    return context


def build(*, gpu: bool = False, base: str | None = None, bootstrap: bool = False,
          tag: str | None = None, log: Callable[[str], None] | None = None) -> BuildReport:
    """Builds the CPU (or GPU) sandbox image and reports its size and build time."""
    started = time.monotonic()
    if bootstrap and gpu:
        raise UsageError("--bootstrap-base arma una base Debian sin CUDA; para la imagen GPU pasá "
                         f"--base con una imagen de PyTorch con CUDA (por ejemplo {GPU_BASE})")
    base = base or (GPU_BASE if gpu else BOOTSTRAP_BASE)
    tag = tag or DEFAULT_IMAGES[gpu]
    if bootstrap or (base == BOOTSTRAP_BASE and not image_id(base)):
        if base != BOOTSTRAP_BASE:
            raise UsageError("--bootstrap-base solo crea la base por defecto; no combina con --base")
        bootstrap_base(log=log)
    elif not image_id(base):
        raise SandboxUnavailable(f"no está la imagen base {base}: traela con 'docker pull {base}' "
                                 "o usá --bootstrap-base (CPU)")
    python, version, torch_from_base = probe(base)
    wanted = requirements(torch_from_base)
    if log:
        log(f"base {base}: Python {version}" + (", torch incluido" if torch_from_base else ""))
    wheels = download_wheels(version, wanted)
    context = build_context(wheels, wanted)
    before = image_id(tag)
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: no buildx plugin needed
    done = subprocess.run(
        [docker_cli(), "build", "--quiet", "--tag", tag, "--build-arg", f"BASE={base}",
         "--build-arg", f"PYTHON={python}", "--build-arg", f"RUNTIME_HASH={runtime_hash()}",
         str(context)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SandboxUnavailable(f"docker build falló:\n{(done.stderr or done.stdout)[-3000:]}")
    after = image_id(tag)
    size = run_docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip()
    labels = run_docker("image", "inspect", "--format",
                        f'{{{{index .Config.Labels "{RUNTIME_LABEL}"}}}}', tag).stdout.strip()
    if labels != runtime_hash():
        raise SandboxUnavailable(f"la imagen {tag} quedó con el runtime {labels!r} y no con el "
                                 f"actual {runtime_hash()!r}; revisá docker/Dockerfile")
    return BuildReport(image=tag, base=base, image_id=after, size_mb=int(size) / 1e6,
                       seconds=time.monotonic() - started, cache_hit=before == after,
                       python=version, torch_from_base=torch_from_base)

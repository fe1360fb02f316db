from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
_GPU_NOT_RUN = pytest.StashKey[int]()


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.hookimpl(trylast=True)  # after -m and -k: count only what would have run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``gpu`` tests select themselves: they run where torch sees CUDA and are deselected
    elsewhere, counted in the summary (never skipped in silence). ``GRADER_REQUIRE_GPU=1`` (the
    GPU lane, ``benchmarks/gpu_lane.sh``) makes a machine without CUDA an error (issue 21)."""
    import os

    gpu = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu or _cuda_available():
        return
    if os.environ.get("GRADER_REQUIRE_GPU") == "1":
        raise pytest.UsageError(f"GRADER_REQUIRE_GPU=1 y hay {len(gpu)} tests gpu, pero "
                                "torch.cuda.is_available() es False en esta máquina")
    config.hook.pytest_deselected(items=gpu)
    items[:] = [item for item in items if item.get_closest_marker("gpu") is None]
    config.stash[_GPU_NOT_RUN] = len(gpu)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    count = config.stash.get(_GPU_NOT_RUN, 0)
    if count:
        what = "test gpu no corrió" if count == 1 else "tests gpu no corrieron"
        terminalreporter.write_line(
            f"{count} {what}: torch.cuda.is_available() es False en esta máquina "
            "(corren solos donde hay una GPU: bash benchmarks/gpu_lane.sh)", yellow=True)


@pytest.fixture
def mini_course(tmp_path: Path) -> Path:
    """A copy of the two-exercise course in tests/fixtures/mini_course (public + hidden checks)."""
    target = tmp_path / "mini_course"
    shutil.copytree(FIXTURES / "mini_course", target)
    return target


def has_bwrap() -> bool:
    return shutil.which("bwrap") is not None


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    """The docker sandbox image, built (or found current) once per test session.

    Shared by the docker backend's tests (tests/sandbox/) and the red-team suite (tests/attacks/).
    """
    from grader.sandbox import images

    if shutil.which("docker") is None or subprocess.run(
            ["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("the docker tests need a running Docker daemon: the README's test command "
                    "installs and starts one (apt-get install docker.io; dockerd --bridge=none "
                    "--iptables=false)")
    report = images.build()
    return report.image


@pytest.fixture(scope="session")
def example_class(tmp_path_factory):
    """Grades a TP of examples/class once per test session, as README's main job does (CLI).

    ``example_class("tp2")`` returns the results folder shared by every TP (``OUT/tp2/*.json``).
    """
    import sys

    out = tmp_path_factory.mktemp("example-class")
    done: set[str] = set()

    def grade(tp: str) -> Path:
        if tp not in done:
            run = subprocess.run(
                [sys.executable, "-m", "grader.cli", "grade", tp, f"examples/class/{tp}", "--out",
                 str(out), "--jobs", "2"], cwd=REPO, capture_output=True, text=True)
            assert run.returncode == 0, run.stdout + run.stderr
            done.add(tp)
        return out

    return grade


@pytest.fixture(scope="session")
def graded_mutants(tmp_path_factory):
    """Grades a TP's correct base and its mutants once per test session (tests/mutant_batches.py).

    ``graded_mutants("tp1")`` returns the folder of their results (``<name>.json``), shared by
    tests/test_mutants.py and the TP's own mutant tests.
    """
    from mutant_batches import grade_mutants  # tests/ is on sys.path (prepend import mode)

    done: dict[str, Path] = {}

    def grade(tp: str) -> Path:
        if tp not in done:
            done[tp] = grade_mutants(tp, tmp_path_factory.mktemp(f"{tp}-mutants"),
                                     tmp_path_factory.mktemp(f"{tp}-results"))
        return done[tp]

    return grade


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """``released("tp2")``: what students of that TP get (``grader release``), once per session."""
    from grader.course import load_course
    from grader.student.release import release

    done: dict[str, Path] = {}

    def bundle(tp: str) -> Path:
        if tp not in done:
            done[tp] = release(load_course(REPO / "course.toml"), tp,
                               tmp_path_factory.mktemp("dist") / tp)
        return done[tp]

    return bundle


# Chromium must not reach anything: no background services, no name resolution, and every
# request that still tries goes to a closed port on loopback. The pages load nothing anyway.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                  "--force-device-scale-factor=1", "--virtual-time-budget=5000"]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """``chromium(url, *flags)``: runs headless chromium on ``url`` and returns its stdout (the
    report and similarity pages are checked in a real browser: ``--dump-dom``, ``--screenshot``)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium no está instalado: 'bash docker/setup-host.sh' lo instala "
                    "(apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run(url: str, *args: str) -> str:
        done = subprocess.run([executable, f"--user-data-dir={profile}", *CHROMIUM_FLAGS, *args, url],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    return run

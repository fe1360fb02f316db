"""Backends are chosen through one registry, and what a warm process keeps is owned by it, not
by module state (issue 16)."""

from __future__ import annotations

import pytest

from grader.engine.reference import CachingReference, References
from grader.errors import UsageError
from grader.sandbox import registry
from grader.sandbox.pool import PrestartedBackend
from grader.sandbox.subprocess import SubprocessBackend


def test_every_backend_name_is_a_sandbox_of_the_registry_or_inprocess():
    assert registry.BACKENDS == ("subprocess", "docker", "inprocess")
    assert set(registry.SANDBOXES) == {"subprocess", "docker"}


def test_an_unknown_backend_says_which_exist():
    with pytest.raises(UsageError, match="backend desconocido 'podman'; los disponibles son "
                                         "subprocess, docker"):
        registry.new_backend("podman")
    with pytest.raises(UsageError, match="backend desconocido"):
        registry.check_options("podman", gpus="none")


def test_gpus_are_an_option_of_every_sandbox_and_validated_before_connecting():
    # issue 21: the subprocess backend grades on GPUs too (tests/sandbox/test_gpus.py)
    registry.check_options("subprocess", gpus="all")
    registry.check_options("docker", gpus="2")
    with pytest.raises(UsageError, match="--gpus espera 'none', 'all' o un número"):
        registry.check_options("subprocess", gpus="dos")


def test_a_fresh_process_gets_a_new_backend_each_time_with_its_slot_and_preload():
    backends = registry.Backends()
    first = backends.make("subprocess", slot=3, preload=("torch",))
    assert isinstance(first, SubprocessBackend) and first.preload == ("torch",)
    assert backends.make("subprocess", slot=3, preload=("torch",)) is not first


def test_a_warm_process_keeps_one_prestarted_backend_per_setup():
    backends = registry.Backends(prestart=True)
    kept = backends.make("subprocess", slot=1)
    try:
        assert isinstance(kept, PrestartedBackend)
        assert backends.make("subprocess", slot=1) is kept
        other = backends.make("subprocess", slot=2)
        assert other is not kept
        other.close()
    finally:
        kept.close()


def test_two_warm_processes_share_nothing():
    one, two = registry.Backends(prestart=True), registry.Backends(prestart=True)
    first, second = one.make("subprocess"), two.make("subprocess")
    try:
        assert first is not second
    finally:
        first.close()
        second.close()


def test_references_are_cached_only_when_asked(tmp_path):
    (tmp_path / "tp.py").write_text("def f(x):\n    return x + 1\n")
    fresh = References()
    assert fresh.load(tmp_path, "tp") is not fresh.load(tmp_path, "tp")
    cached = References(cache=True)
    kept = cached.load(tmp_path, "tp")
    assert isinstance(kept, CachingReference) and cached.load(tmp_path, "tp") is kept
    assert kept.f(1) == 2


def test_preflight_of_the_subprocess_sandbox_passes_without_a_warning_where_bubblewrap_is():
    assert registry.preflight("subprocess") == ""

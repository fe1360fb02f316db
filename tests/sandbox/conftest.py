"""Shared fixtures of the sandbox tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from grader import images


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    if shutil.which("docker") is None or subprocess.run(
            ["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("the docker tests need a running Docker daemon: the README's test command "
                    "installs and starts one (apt-get install docker.io; dockerd --bridge=none "
                    "--iptables=false)")
    report = images.build()
    return report.image

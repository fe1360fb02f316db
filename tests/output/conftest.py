"""What the report tests share: a headless chromium that renders a page and answers with its DOM
(``--dump-dom``) or a screenshot."""

from __future__ import annotations

import shutil
import subprocess

import pytest

# Chromium must not reach anything: no background services, no name resolution, and every
# request that still tries goes to a closed port on loopback. The pages load nothing anyway.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                  "--force-device-scale-factor=1", "--virtual-time-budget=5000"]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """``chromium(url, *flags)``: runs headless chromium on ``url`` and returns its stdout."""
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

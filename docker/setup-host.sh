#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for the sandboxes: bubblewrap (subprocess backend), Docker and
# debootstrap (docker backend, base image without a registry), chromium (the tests render the
# HTML reports headless), and a running Docker daemon.
# Idempotent: installs only what is missing, starts a daemon only if none answers.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # renders the HTML reports in the tests
# The kernel's system-call numbers: tests/sandbox/test_hardening.py checks the seccomp table on them.
[ -e "/usr/include/$(uname -m)-linux-gnu/asm/unistd_64.h" ] || [ "$(uname -m)" != x86_64 ] \
  || need+=(linux-libc-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-host: instalando ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y "${need[@]}" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y "${need[@]}" >/dev/null; }
fi

if ! docker info >/dev/null 2>&1; then
  # Sandboxes run with --network none, so the daemon needs no bridge and no iptables rules.
  echo "setup-host: arrancando dockerd"
  $SUDO sh -c 'nohup dockerd --bridge=none --iptables=false >/var/log/grader-dockerd.log 2>&1 &'
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "setup-host: dockerd no arrancó; ver /var/log/grader-dockerd.log" >&2; exit 1; }
fi

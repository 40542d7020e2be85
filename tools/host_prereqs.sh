#!/usr/bin/env bash
# What `make run` and `make test` need on this machine (a Debian/Ubuntu controller), set up the same way for
# a newcomer and for CI: Python 3.11+ with venv, Docker answering, debootstrap (the test host image), gnupg
# and dpkg-deb (the stand-in apt mirror), a static busybox (the tests' tiny container image).
# As root, missing packages are installed and dockerd is started; otherwise it says what to run as root.
# GPUHOST_PREREQS_DRY_RUN=1 prints what it would install or start instead of doing it.
# NEED_DOCKER=0 (make run INVENTORY=... against real hosts) checks Python only.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
dry_run="${GPUHOST_PREREQS_DRY_RUN:-}"
need_docker="${NEED_DOCKER:-1}"
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true

need=()
have() { command -v "$1" >/dev/null 2>&1; }
if [ "$need_docker" = 1 ]; then
  # A docker CLI alone (no daemon binary, nothing answering) is not enough: the tests need an engine.
  have dockerd || docker info >/dev/null 2>&1 || need+=(docker.io)
  have debootstrap || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
  have gpg || need+=(gnupg)
  have dpkg-deb || need+=(dpkg)
  [ -x /bin/busybox ] || need+=(busybox-static)
  # tests/fixtures/nvidia_toolkit builds NVIDIA's toolkit with cgo.
  have gcc || need+=(gcc)
fi

# ansible-core 2.19 (the `ansible` 12 release the tests pin) runs on Python 3.11 or newer on the controller.
if ! have "$PYTHON"; then
  echo "host_prereqs: $PYTHON not found: install Python 3.11 or newer (python3 python3-venv), or pass PYTHON=..." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  version="$("$PYTHON" -c 'import platform; print(platform.python_version())')"
  echo "host_prereqs: $PYTHON is Python $version; ansible-core 2.19 needs 3.11 or newer on the controller." >&2
  echo "  Ubuntu 22.04: sudo apt-get install python3.11 python3.11-venv, then make ... PYTHON=python3.11" >&2
  exit 1
fi
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need+=("python3-venv")

run() {
  if [ -n "$dry_run" ]; then echo "host_prereqs: would run: $*"; else "$@"; fi
}

if [ ${#need[@]} -gt 0 ]; then
  if ! $is_root; then
    echo "host_prereqs: missing packages: ${need[*]}" >&2
    echo "  Installing them needs root: sudo apt-get install ${need[*]}  (or: sudo make prereqs)" >&2
    exit 1
  fi
  echo "host_prereqs: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run apt-get update -qq
  run apt-get install -y -qq "${need[@]}"
fi

if [ "$need_docker" = 1 ] && ! docker info >/dev/null 2>&1; then
  if ! $is_root; then
    echo "host_prereqs: Docker does not answer for $(id -un)." >&2
    echo "  Start it as root (sudo systemctl start docker), and make sure you may use it" >&2
    echo "  (sudo usermod -aG docker $(id -un), then log in again; that group is root-equivalent)." >&2
    exit 1
  fi
  if [ -d /run/systemd/system ]; then
    echo "host_prereqs: starting docker.service"
    run systemctl start docker
  else
    # No systemd (a CI container): dockerd in the background. A dockerd killed with a previous session
    # leaves its pid file, which stops a new one from starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      run rm -f /var/run/docker.pid
    fi
    echo "host_prereqs: starting dockerd (log: /tmp/gpuhost-dockerd.log)"
    if [ -z "$dry_run" ]; then
      (dockerd >/tmp/gpuhost-dockerd.log 2>&1 &)
    else
      echo "host_prereqs: would run: dockerd"
    fi
  fi
  if [ -z "$dry_run" ]; then
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || {
      echo "host_prereqs: dockerd did not start:" >&2
      tail -n 50 /tmp/gpuhost-dockerd.log 2>/dev/null >&2 || true
      exit 1
    }
  fi
fi

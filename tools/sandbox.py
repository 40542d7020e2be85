#!/usr/bin/env python3
"""Start or remove the disposable sandbox host that `make run` provisions when no inventory is given.

It is the Molecule test host image run the same way Molecule runs it (.config/molecule/config.yml):
systemd as PID 1, cgroups shared, the capabilities Docker-in-Docker needs listed one by one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sandbox_image import DEFAULT_SUITE, image_name  # noqa: E402

NAME = "gpuhost-sandbox"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# STAND-IN for nvidia.github.io (unreachable from a sandbox): the toolkit scenario's signed local mirror.
MIRROR_SPEC = os.path.join(ROOT, "molecule", "toolkit", "mirror.yml")
MIRROR_DIR = os.path.join(ROOT, ".cache", "sandbox-mirror")
CAPABILITIES = ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "IPC_LOCK", "SYS_NICE", "MKNOD"]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True)


def running(name: str) -> bool:
    result = docker("inspect", "-f", "{{.State.Running}}", name, check=False)
    return result.stdout.strip() == "true"


def up(image: str, name: str = NAME) -> None:
    """Start (or keep) a sandbox host, wait for systemd, serve the stand-in mirror in it."""
    if not running(name):
        docker("rm", "-f", name, check=False)
        cmd = [
            "run",
            "-d",
            "--name",
            name,
            "--hostname",
            name,
            "--cgroupns=host",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "-v",
            "/var/lib/docker",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
        ]
        for cap in CAPABILITIES:
            cmd += ["--cap-add", cap]
        docker(*cmd, image, "/lib/systemd/systemd")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    else:
        sys.exit(f"sandbox: systemd in {name} did not finish booting within 60 s")
    # As cloud-init does on a VM's first boot: a fresh cloud host has an apt index.
    docker("exec", name, "apt-get", "update", "-qq")
    serve_mirror(name)
    print(f"sandbox: {name} is up (systemd {state}), stand-in NVIDIA mirror on its 127.0.0.1:8080")


def ensure_mirror() -> None:
    """Build the stand-in mirror once; into a temporary folder first, so no host copies half of one."""
    if os.path.isdir(MIRROR_DIR):
        return
    building = MIRROR_DIR + ".building"
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "fixtures", "apt_mirror", "build.py"), MIRROR_SPEC, building],
        check=True,
    )
    os.rename(building, MIRROR_DIR)


def serve_mirror(name: str) -> None:
    """Copy the stand-in mirror into the sandbox and serve it on the sandbox's loopback."""
    ensure_mirror()
    if docker("exec", name, "systemctl", "is-active", "gpuhost-test-mirror", check=False).returncode == 0:
        return
    docker("cp", MIRROR_DIR + "/.", f"{name}:/srv/gpuhost-test-mirror")
    docker(
        "exec",
        name,
        "systemd-run",
        "--unit=gpuhost-test-mirror",
        "--",
        "python3",
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        "/srv/gpuhost-test-mirror",
        "8080",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--image", default=image_name(DEFAULT_SUITE))
    args = parser.parse_args()
    if args.action == "up":
        up(args.image)
    else:
        docker("rm", "-f", NAME, check=False)
        print(f"sandbox: {NAME} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Start or remove the disposable sandbox host that `make run` provisions when no inventory is given.

It is the Molecule test host image run the same way Molecule runs it (.config/molecule/config.yml):
systemd as PID 1, cgroups shared, the capabilities Docker-in-Docker needs listed one by one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sandbox_image import DEFAULT_SUITE, image_name  # noqa: E402

NAME = "gpuhost-sandbox"
CAPABILITIES = ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "IPC_LOCK", "SYS_NICE", "MKNOD"]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True)


def running() -> bool:
    result = docker("inspect", "-f", "{{.State.Running}}", NAME, check=False)
    return result.stdout.strip() == "true"


def up(image: str) -> None:
    if not running():
        docker("rm", "-f", NAME, check=False)
        cmd = [
            "run",
            "-d",
            "--name",
            NAME,
            "--hostname",
            NAME,
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
        state = docker("exec", NAME, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            print(f"sandbox: {NAME} is up (systemd {state})")
            return
        time.sleep(1)
    sys.exit(f"sandbox: systemd in {NAME} did not finish booting within 60 s")


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

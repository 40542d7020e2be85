#!/usr/bin/env python3
"""Build the sandbox/test host image: systemd + python3, from debootstrap, imported into Docker.

The image stands in for a fresh cloud VM in Molecule and in the README's default run. It is cached:
when the tag already exists nothing is rebuilt unless --force is given. `--suite trixie` builds Debian 13
(docker.io 26: CDI, `dockerd --validate`) as gpuhost-sandbox:trixie for the toolkit_trixie scenario; its
systemd 257 boots on cgroup-v1 (hybrid) hosts as well, checked on this project's machines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What a fresh cloud image has and what Ansible needs to manage it; nothing the roles install.
BASE_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "ca-certificates",
    "procps",
    "iproute2",
    "kmod",
    "sudo",
]


def image_name(suite: str) -> str:
    """The tag the tests use; GPUHOST_SANDBOX_IMAGE overrides the default suite's (e.g. a registry image).

    Other suites keep their own tag: the scenarios that need them (toolkit_trixie) name it.
    """
    if suite != DEFAULT_SUITE:
        return f"gpuhost-sandbox:{suite}"
    return os.environ.get("GPUHOST_SANDBOX_IMAGE", f"gpuhost-sandbox:{suite}")


def image_exists(name: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", name], capture_output=True, check=False)
    return result.returncode == 0


def build(suite: str, mirror: str, name: str, keyring: str | None) -> None:
    for tool in ("debootstrap", "docker", "tar"):
        if shutil.which(tool) is None:
            sys.exit(f"sandbox_image: '{tool}' is not on PATH; install it first (apt-get install {tool})")
    with tempfile.TemporaryDirectory(prefix="gpuhost-rootfs-") as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
        ]
        if keyring:
            cmd.append(f"--keyring={keyring}")
        cmd += [suite, rootfs, mirror]
        print("sandbox_image:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        # A container has no consoles or udev to wait for; these units only slow boot or fail.
        for unit in (
            "getty.target",
            "systemd-udevd.service",
            "systemd-udev-trigger.service",
            "systemd-remount-fs.service",
            "systemd-modules-load.service",
        ):
            os.symlink("/dev/null", os.path.join(rootfs, "etc/systemd/system", unit))
        # Empty machine-id and no apt lists: like a fresh VM, and the roles must refresh apt themselves.
        with open(os.path.join(rootfs, "etc/machine-id"), "w", encoding="ascii"):
            pass
        shutil.rmtree(os.path.join(rootfs, "var/lib/apt/lists"), ignore_errors=True)
        os.makedirs(os.path.join(rootfs, "var/lib/apt/lists/partial"), exist_ok=True)
        shutil.rmtree(os.path.join(rootfs, "var/cache/apt/archives"), ignore_errors=True)
        os.makedirs(os.path.join(rootfs, "var/cache/apt/archives/partial"), exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            [
                "docker",
                "import",
                "--change",
                'CMD ["/lib/systemd/systemd"]',
                "--change",
                "ENV container=docker",
                "-",
                name,
            ],
            stdin=tar.stdout,
            check=True,
        )
        if tar.wait() != 0:
            sys.exit("sandbox_image: tar of the rootfs failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", default=DEFAULT_SUITE, help="bookworm (default), trixie, jammy, noble ...")
    parser.add_argument("--mirror", default=DEFAULT_MIRROR, help="archive for debootstrap")
    parser.add_argument("--keyring", help="keyring debootstrap checks the archive with (Ubuntu suites)")
    parser.add_argument("--name", help="image tag (default: $GPUHOST_SANDBOX_IMAGE or gpuhost-sandbox:SUITE)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    args = parser.parse_args(argv)
    name = args.name or image_name(args.suite)
    if image_exists(name) and not args.force:
        print(f"sandbox_image: {name} already exists (use --force to rebuild)")
        return 0
    build(args.suite, args.mirror, name, args.keyring)
    print(f"sandbox_image: built {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Build the sandbox/test host image: systemd + python3, from debootstrap, imported into Docker.

The image stands in for a fresh cloud VM in Molecule and in the README's default run. It is cached:
when the tag already exists nothing is rebuilt unless --force is given. `--suite trixie` builds Debian 13
(docker.io 26: CDI, `dockerd --validate`) as gpuhost-sandbox:trixie for the toolkit_trixie scenario; its
systemd 257 boots on cgroup-v1 (hybrid) hosts as well, checked on this project's machines.

`--suite noble-standin` / `jammy-standin` build a LABELLED STAND-IN for an Ubuntu 24.04 / 22.04 GPU VM
where no Ubuntu archive is reachable: the bookworm image underneath, with os-release, lsb-release and apt
sources that say Ubuntu (the source is the signed test mirror a scenario serves on 127.0.0.1:8080),
Canonical's real ubuntu-drivers-common of that release (tests/fixtures/ubuntu_drivers/build.py) and a fake
PCI sysfs with an A100 PCIe and an RTX A4000 under /opt/gpuhost-standin/sys, which ubuntu-drivers reads
through UBUNTU_DRIVERS_SYS_DIR and nvidia_gpu_facts through its sysfs_root option. /etc/gpuhost-standin
says what it is.
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


# Ubuntu stand-ins: release -> (VERSION_ID, VERSION, tools/... build.py release)
STANDINS = {
    "noble-standin": ("24.04", "24.04.3 LTS (Noble Numbat)", "noble"),
    "jammy-standin": ("22.04", "22.04.5 LTS (Jammy Jellyfish)", "jammy"),
}
STANDIN_ROOT = "/opt/gpuhost-standin/sys"
# The GPUs the stand-in's PCI bus shows: (address, device, subsystem device, class). An A100 PCIe 80GB as on
# Azure NC A100 v4 and an RTX A4000 as on Paperspace; both Ampere (open kernel modules supported).
STANDIN_GPUS = (
    ("0000:00:07.0", "0x20b5", "0x1533", "0x030200"),
    ("0000:00:08.0", "0x24b0", "0x14ad", "0x030000"),
)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_KEY = os.path.join(REPO, "tests", "fixtures", "apt_mirror", "keys", "mirror.pub.asc")
UBUNTU_DRIVERS_BUILDER = os.path.join(REPO, "tests", "fixtures", "ubuntu_drivers", "build.py")


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


def modalias(device: str, subsystem: str, pci_class: str) -> str:
    """The kernel's PCI modalias, e.g. pci:v000010DEd000020B5sv000010DEsd00001533bc03sc02i00."""
    cls = pci_class.removeprefix("0x")
    return (
        f"pci:v000010DEd0000{device[2:].upper()}sv000010DEsd0000{subsystem[2:].upper()}"
        f"bc{cls[0:2].upper()}sc{cls[2:4].upper()}i{cls[4:6].upper()}"
    )


def write_fake_sysfs(root: str, gpus=STANDIN_GPUS) -> None:
    """<root>/devices/pci0000:00/ADDR/{vendor,device,class,modalias,...} and <root>/bus/pci/devices/ADDR links."""
    links = os.path.join(root, "bus", "pci", "devices")
    os.makedirs(links, exist_ok=True)
    for address, device, subsystem, pci_class in gpus:
        path = os.path.join(root, "devices", "pci0000:00", address)
        os.makedirs(path, exist_ok=True)
        for name, value in (
            ("vendor", "0x10de"),
            ("device", device),
            ("subsystem_vendor", "0x10de"),
            ("subsystem_device", subsystem),
            ("class", pci_class),
            ("modalias", modalias(device, subsystem, pci_class)),
        ):
            with open(os.path.join(path, name), "w", encoding="ascii") as handle:
                handle.write(value + "\n")
        os.symlink(os.path.join("..", "..", "..", "devices", "pci0000:00", address), os.path.join(links, address))


def standin_files(suite: str, stage: str) -> None:
    """The files that make the bookworm image an Ubuntu stand-in, under <stage>/root (copied over /)."""
    version_id, version, codename = STANDINS[suite][0], STANDINS[suite][1], STANDINS[suite][2]
    root = os.path.join(stage, "root")
    label = (
        f"STAND-IN built by gpuhost's tools/sandbox_image.py: Debian 12 bookworm underneath, labelled Ubuntu "
        f"{version_id} ({codename}) for tests where no Ubuntu archive is reachable. Real here: Canonical's "
        f"ubuntu-drivers-common. Stand-ins: the apt archive (127.0.0.1:8080, test key), the PCI sysfs under "
        f"{STANDIN_ROOT}, every NVIDIA and kernel package.\n"
    )
    files = {
        "etc/gpuhost-standin": label,
        # No "Debian" in it: Ansible's distribution detection would call the host Debian.
        "usr/lib/os-release": (
            "# STAND-IN for Ubuntu built by gpuhost's tools/sandbox_image.py: see /etc/gpuhost-standin.\n"
            f'PRETTY_NAME="Ubuntu {version}"\nNAME="Ubuntu"\nVERSION_ID="{version_id}"\nVERSION="{version}"\n'
            f"VERSION_CODENAME={codename}\nID=ubuntu\nID_LIKE=debian\nHOME_URL=\"https://www.ubuntu.com/\"\n"
            f"UBUNTU_CODENAME={codename}\n"
        ),
        "etc/lsb-release": (
            f"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE={version_id}\nDISTRIB_CODENAME={codename}\n"
            f'DISTRIB_DESCRIPTION="Ubuntu {version}"\n'
        ),
        # As Ubuntu 24.04's cloud images write it (deb822), but pointing at the scenario's signed stand-in.
        "etc/apt/sources.list.d/ubuntu.sources": (
            f"# {label}"
            f"Types: deb\nURIs: http://127.0.0.1:8080/ubuntu\nSuites: {codename}\nComponents: restricted\n"
            "Signed-By: /usr/share/keyrings/gpuhost-standin-ubuntu-archive.asc\n"
        ),
    }
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
    os.makedirs(os.path.join(root, "usr/share/keyrings"), exist_ok=True)
    shutil.copy(TEST_KEY, os.path.join(root, "usr/share/keyrings/gpuhost-standin-ubuntu-archive.asc"))
    write_fake_sysfs(os.path.join(root, STANDIN_ROOT.lstrip("/")))
    subprocess.run(
        [sys.executable, UBUNTU_DRIVERS_BUILDER, "--release", codename, "--out", os.path.join(stage, "debs")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def build_standin(suite: str, name: str, base: str) -> None:
    """The bookworm image plus the stand-in files and Debian's python3-click, committed as NAME."""
    if not image_exists(base):
        build(DEFAULT_SUITE, DEFAULT_MIRROR, base, None)
    with tempfile.TemporaryDirectory(prefix="gpuhost-standin-") as stage:
        os.chmod(stage, 0o755)  # noqa: S103 mounted into the build container as /stage
        standin_files(suite, stage)
        script = (
            "set -e; apt-get -q update >/dev/null; "
            "DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends python3-click >/dev/null; "
            "dpkg -i /stage/debs/*.deb >/dev/null; "
            "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/debian.sources /etc/os-release; "
            "cp -a /stage/root/. /; ln -s ../usr/lib/os-release /etc/os-release; "
            "rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; mkdir -p /var/lib/apt/lists/partial"
        )
        container = f"gpuhost-standin-build-{os.getpid()}"
        subprocess.run(
            # No --entrypoint: `docker commit` would keep it (the base image has none, only CMD).
            ["docker", "run", "--name", container, "-v", f"{stage}:/stage:ro", base, "/bin/sh", "-c", script],
            check=True,
        )
        try:
            subprocess.run(
                ["docker", "commit", "--change", 'CMD ["/lib/systemd/systemd"]', container, name],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        finally:
            subprocess.run(["docker", "rm", "-f", container], check=False, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--suite", default=DEFAULT_SUITE, help="bookworm (default), trixie, noble-standin, jammy-standin, jammy ..."
    )
    parser.add_argument("--mirror", default=DEFAULT_MIRROR, help="archive for debootstrap")
    parser.add_argument("--keyring", help="keyring debootstrap checks the archive with (Ubuntu suites)")
    parser.add_argument("--name", help="image tag (default: $GPUHOST_SANDBOX_IMAGE or gpuhost-sandbox:SUITE)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    args = parser.parse_args(argv)
    name = args.name or image_name(args.suite)
    if image_exists(name) and not args.force:
        print(f"sandbox_image: {name} already exists (use --force to rebuild)")
        return 0
    if args.suite in STANDINS:
        build_standin(args.suite, name, image_name(DEFAULT_SUITE))
    else:
        build(args.suite, args.mirror, name, args.keyring)
    print(f"sandbox_image: built {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Capture what the doctor reads on a GPU host into a directory, in the layout gpu_doctor_facts reads below `root`.

    sudo python3 tools/capture_gpu_fixtures.py --out /tmp/h200-capture

Writes only under --out and changes nothing on the host. It saves `nvidia-smi -q -x` (and `-q`, `topo -m`,
`--query-gpu` for people), the NVIDIA PCI devices' sysfs files (ids, class, PCIe link speed and width), the
procfs files (/proc/driver/nvidia/version, /proc/modules, kernel release, taint, the comm of the processes the
doctor looks for), dpkg's status for the packages the doctor reads, the nvidia modules under /lib/modules
(uncompressed ones as their last 4 KiB, enough for the signature marker), the names of libnvidia-ml.so.* and
/dev/nvidia*, Docker's daemon.json, CDI specs, unattended-upgrades' configuration, the SecureBoot EFI variable,
the kernel log's NVIDIA and Xid lines since boot (where readable), and the free space of Docker's data-root.
Then `gpu_doctor_facts root=DIR` (or the unit tests) read it as if it were the host.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_sources():
    """The doctor's own lists of what it reads (plugins/module_utils/doctor_sources.py), as the collection."""
    collections = os.path.join(ROOT, ".collections")
    if not os.path.isdir(os.path.join(collections, "ansible_collections", "gpuhost", "provision")):
        collections = tempfile.mkdtemp(prefix="gpuhost-capture-")
        os.makedirs(os.path.join(collections, "ansible_collections", "gpuhost"))
        os.symlink(ROOT, os.path.join(collections, "ansible_collections", "gpuhost", "provision"))
    sys.path.insert(0, collections)
    from ansible_collections.gpuhost.provision.plugins.module_utils import doctor_sources  # noqa: PLC0415

    return doctor_sources


SOURCES = _import_sources()
KERNEL_LOG_LINES = re.compile(r"NVRM|nvidia|Xid|Linux version|nouveau|secureboot|Secure boot", re.IGNORECASE)


class Capture:
    def __init__(self, out: str):
        self.out = out
        self.notes: list[str] = []

    def write(self, relative: str, data) -> None:
        dest = os.path.join(self.out, relative.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(
            dest, "wb" if isinstance(data, bytes) else "w", encoding=None if isinstance(data, bytes) else "utf-8"
        ) as handle:
            handle.write(data)

    def copy(self, source: str) -> bool:
        try:
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            self.notes.append(f"{source}: not read ({exc.strerror})")
            return False
        self.write(source, data)
        return True

    def touch(self, source: str) -> None:
        self.write(source, b"")

    def command(self, argv: list[str], relative: str, error_relative: str | None = None, filter_lines=None) -> bool:
        if shutil.which(argv[0]) is None:
            self.notes.append(f"{' '.join(argv)}: {argv[0]} not found")
            return False
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        if proc.returncode != 0:
            self.notes.append(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()[:200]}")
            if error_relative:
                self.write(error_relative, (proc.stderr or proc.stdout))
            return False
        text = proc.stdout
        if filter_lines is not None:
            text = "".join(line + "\n" for line in text.splitlines() if filter_lines.search(line))
        self.write(relative, text)
        self.notes.append(f"{relative}: {' '.join(argv)}")
        return True


def _commands(cap: Capture) -> None:
    """nvidia-smi and the kernel log (its NVIDIA, Xid and boot lines)."""
    files = SOURCES.COMMAND_FILES
    smi = "nvidia-smi"
    cap.command([smi, "-q", "-x"], files["nvidia_smi"], files["nvidia_smi_error"])
    cap.command([smi, "-q"], "commands/nvidia-smi-q.txt")
    cap.command([smi, "topo", "-m"], "commands/nvidia-smi-topo.txt")
    cap.command([smi, "nvlink", "-s"], files["nvlink"])
    cap.command(
        [
            smi,
            "--query-gpu=index,pci.bus_id,pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,"
            "pcie.link.width.max,persistence_mode,mig.mode.current",
            "--format=csv,noheader,nounits",
        ],
        "commands/nvidia-smi-query.csv",
    )
    if not cap.command(
        ["journalctl", "-k", "-b", "0", "--no-pager", "-o", "short-iso", "-q"],
        files["kernel_log"],
        filter_lines=KERNEL_LOG_LINES,
    ):
        cap.command(["dmesg"], files["kernel_log"], filter_lines=KERNEL_LOG_LINES)


def _procfs(cap: Capture) -> None:
    """The procfs files the doctor reads, and the comm of the processes it looks for."""
    for source in (
        "/proc/driver/nvidia/version",
        "/proc/modules",
        "/proc/sys/kernel/osrelease",
        "/proc/sys/kernel/tainted",
        "/proc/cmdline",
    ):
        cap.copy(source)
    for comm in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(comm, encoding="utf-8") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        if name in SOURCES.PROCESSES:
            cap.write(comm, name + "\n")


def _sysfs(cap: Capture) -> None:
    """sysfs: NVIDIA PCI devices only (ids, class, PCIe link), and the SecureBoot EFI variable."""
    for device in sorted(glob.glob("/sys/bus/pci/devices/*")):
        try:
            with open(os.path.join(device, "vendor"), encoding="ascii") as handle:
                if handle.read().strip().lower() != SOURCES.NVIDIA_VENDOR:
                    continue
        except OSError:
            continue
        for name in (
            "vendor",
            "device",
            "class",
            "subsystem_vendor",
            "subsystem_device",
            "numa_node",
            *SOURCES.PCI_LINK_FILES,
        ):
            cap.copy(os.path.join(device, name))
    cap.copy("/" + SOURCES.SECURE_BOOT_VAR)


def _dpkg(cap: Capture) -> None:
    """dpkg's status, the stanzas of the packages the doctor reads only."""
    try:
        with open("/var/lib/dpkg/status", encoding="utf-8", errors="replace") as handle:
            stanzas = re.split(r"\n\s*\n", handle.read())
        kept = [
            s
            for s in stanzas
            if (m := re.search(r"^Package: (\S+)", s, re.MULTILINE)) and SOURCES.PACKAGE_PATTERN.match(m.group(1))
        ]
        cap.write("/var/lib/dpkg/status", "\n\n".join(s.strip("\n") for s in kept) + "\n")
    except OSError as exc:
        cap.notes.append(f"/var/lib/dpkg/status: not read ({exc.strerror})")


def _kernel_modules(cap: Capture) -> None:
    """/lib/modules: a directory per kernel, with its nvidia modules (an uncompressed one's last 4 KiB)."""
    for base in sorted(glob.glob("/lib/modules/*")):
        os.makedirs(os.path.join(cap.out, base.lstrip("/")), exist_ok=True)
        for directory, _subdirs, names in os.walk(base):
            for name in names:
                if re.fullmatch(r"nvidia(-[a-z]+)?\.ko(\.(xz|zst|gz))?", name):
                    path = os.path.join(directory, name)
                    with open(path, "rb") as handle:
                        data = handle.read()
                    cap.write(path, data[-4096:] if name.endswith(".ko") else b"")


def _device_names(cap: Capture) -> None:
    """Files that count by existing: libnvidia-ml.so.<version>, dockerd and /dev/nvidia* (empty here)."""
    for directory in SOURCES.LIBRARY_DIRS:
        for path in glob.glob(os.path.join("/", directory, "libnvidia-ml.so.*")):
            cap.touch(path)
    for path in SOURCES.DOCKERD_PATHS:
        if os.path.exists("/" + path):
            cap.touch("/" + path)
    for path in glob.glob("/dev/nvidia*"):
        if not os.path.isdir(path):
            cap.touch(path)


def _containers_and_apt(cap: Capture) -> None:
    """daemon.json, CDI specs and their stamps, unattended-upgrades' configuration, the data-root's free space."""
    files = SOURCES.COMMAND_FILES
    cap.copy("/etc/docker/daemon.json")
    for spec in SOURCES.CDI_SPECS:
        if cap.copy("/" + spec):
            cap.copy(os.path.join("/", os.path.dirname(spec), ".nvidia.yaml.driver-version"))
    for conf in glob.glob("/etc/apt/apt.conf.d/*"):
        try:
            with open(conf, encoding="utf-8", errors="replace") as handle:
                if "Unattended-Upgrade" in handle.read():
                    cap.copy(conf)
        except OSError:
            continue
    if os.path.exists("/var/run/reboot-required"):
        cap.copy("/var/run/reboot-required")
    data_root = SOURCES.docker_daemon("/")["data_root"]
    space = SOURCES.free_space("/", data_root)
    if space:
        cap.write(files["data_root_space"], json.dumps(space) + "\n")


def capture(out: str) -> list[str]:
    cap = Capture(out)
    _commands(cap)
    _procfs(cap)
    _sysfs(cap)
    _dpkg(cap)
    _kernel_modules(cap)
    _device_names(cap)
    _containers_and_apt(cap)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    readme = [
        f"# Captured {when} by tools/capture_gpu_fixtures.py",
        "",
        "Read it as the host: `gpuhost.provision.gpu_doctor_facts: {host: x, root: <this directory>}`.",
        "",
        "What was read, and what could not be:",
        "",
        *[f"- {note}" for note in cap.notes],
        "",
    ]
    cap.write("README.md", "\n".join(readme))
    return cap.notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write (created; must be empty or new)")
    args = parser.parse_args()
    if os.path.isdir(args.out) and os.listdir(args.out):
        parser.error(f"{args.out} is not empty")
    os.makedirs(args.out, exist_ok=True)
    for note in capture(args.out):
        print(note)
    print(f"captured into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

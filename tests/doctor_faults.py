"""Fault fixtures for the doctor: copies of the captured H100 tree, each edited to inject one failure.

Each copy gets an EDITED.txt that says what was changed (the clean tree's README says what was captured).
The unit tests judge every fault; the integration tests run doctor.yml on a few.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLEAN = os.path.join(HERE, "unit", "fixtures", "doctor", "h100")
XML = "commands/nvidia-smi-q.xml"
GPU_SYSFS = "sys/bus/pci/devices/0000:00:06.0"
CAPTURE = os.path.join(os.path.dirname(HERE), "tools", "capture_gpu_fixtures.py")


def run_capture(out) -> subprocess.CompletedProcess:
    """tools/capture_gpu_fixtures.py --out OUT, as the lead runs it on a GPU host."""
    return subprocess.run(
        [sys.executable, CAPTURE, "--out", str(out)], capture_output=True, text=True, check=False, timeout=120
    )


class Tree:
    """A copy of the clean capture that a test edits; each edit is recorded in EDITED.txt."""

    def __init__(self, root: str):
        self.root = root
        self.edits: list[str] = []

    def _path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        with open(self._path(rel), encoding="utf-8") as handle:
            return handle.read()

    def write(self, rel, text, why):
        os.makedirs(os.path.dirname(self._path(rel)), exist_ok=True)
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(self._path(rel), mode) as handle:
            handle.write(text)
        self._label(f"{rel}: {why}")

    def sub(self, rel, old, new, why, count=1):
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}: the edit would inject nothing"
        self.write(rel, text.replace(old, new, count), why)

    def remove(self, rel, why):
        os.remove(self._path(rel))
        self._label(f"{rel}: removed: {why}")

    def _label(self, line):
        self.edits.append(line)
        with open(self._path("EDITED.txt"), "w", encoding="utf-8") as handle:
            handle.write(
                "EDITED copy of the H100 capture (tests/unit/fixtures/doctor/h100):\n" + "\n".join(self.edits) + "\n"
            )


def edited_copy(dest: str, *faults: str) -> Tree:
    """A copy of the clean tree at dest with the named FAULTS injected."""
    shutil.copytree(CLEAN, dest)
    tree = Tree(dest)
    for name in faults:
        FAULTS[name][0](tree)
    return tree


def _throttled(t):
    t.sub(
        XML,
        "<clocks_event_reason_hw_slowdown>Not Active<",
        "<clocks_event_reason_hw_slowdown>Active<",
        "HW slowdown active",
    )
    t.sub(XML, "<sm_clock>345 MHz</sm_clock>", "<sm_clock>690 MHz</sm_clock>", "SM clock halved")


def _thermal_sw(t):
    t.sub(
        XML,
        "<clocks_event_reason_sw_thermal_slowdown>Not Active<",
        "<clocks_event_reason_sw_thermal_slowdown>Active<",
        "SW thermal slowdown active",
    )


def _pcie_width(t):
    t.sub(XML, "<current_link_width>16x<", "<current_link_width>8x<", "link trained at x8")
    t.write(f"{GPU_SYSFS}/current_link_width", "8\n", "sysfs says x8 too")


def _pcie_gen(t):
    t.sub(XML, "<current_link_gen>5<", "<current_link_gen>3<", "link at Gen3")
    t.write(f"{GPU_SYSFS}/current_link_speed", "8.0 GT/s PCIe\n", "sysfs says 8 GT/s too")


def _ecc_volatile(t):
    t.sub(XML, "<dram_uncorrectable>0<", "<dram_uncorrectable>2<", "2 volatile DRAM uncorrectable errors")


def _ecc_aggregate(t):
    text = t.read(XML)
    head, tail = text.split("<aggregate>", 1)
    t.write(
        XML,
        head + "<aggregate>" + tail.replace("<dram_uncorrectable>0<", "<dram_uncorrectable>3<", 1),
        "3 lifetime DRAM uncorrectable errors",
    )


def _remap_pending(t):
    t.sub(XML, "<remapped_row_pending>No<", "<remapped_row_pending>Yes<", "row remap pending")
    t.sub(XML, "<remapped_row_unc>0<", "<remapped_row_unc>1<", "one uncorrectable row remapped")


def _remap_failed(t):
    t.sub(XML, "<remapped_row_failure>No<", "<remapped_row_failure>Yes<", "row remapping failed")


def _xid_79(t):
    line = (
        "2026-11-24T10:02:11+0000 h100 kernel: NVRM: Xid (PCI:0000:00:06): 79, pid=2210, name=python3, "
        "GPU has fallen off the bus.\n"
    )
    t.write("commands/kernel-log.txt", t.read("commands/kernel-log.txt") + line, "Xid 79 line appended")


def _xid_13(t):
    line = (
        "2026-11-24T10:02:11+0000 h100 kernel: NVRM: Xid (PCI:0000:00:06): 13, pid=2210, name=python3, "
        "Graphics Exception\n"
    )
    t.write("commands/kernel-log.txt", t.read("commands/kernel-log.txt") + line, "Xid 13 (application) line appended")


def _library_mismatch(t):
    # An unattended upgrade to 580.159.05 that was not followed by a reboot: the old module is still loaded.
    t.sub(
        "var/lib/dpkg/status",
        "580.159.04-0ubuntu0.24.04.1",
        "580.159.05-0ubuntu0.24.04.1",
        "driver packages upgraded",
        count=-1,
    )
    os.rename(
        os.path.join(t.root, "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.159.04"),
        os.path.join(t.root, "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.159.05"),
    )
    t._label("usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.159.04 renamed to .580.159.05")
    t.remove(XML, "nvidia-smi gives no XML when NVML cannot initialise")
    t.write(
        "commands/nvidia-smi-q.err",
        "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.159\n",
        "nvidia-smi's error",
    )


def _missing_kernel_module(t):
    stanza = "Package: linux-image-6.8.0-90-generic\nStatus: install ok installed\nVersion: 6.8.0-90.91\n"
    t.write("var/lib/dpkg/status", t.read("var/lib/dpkg/status") + "\n" + stanza, "kernel 6.8.0-90 installed")
    t.write("lib/modules/6.8.0-90-generic/kernel/drivers/net/dummy.ko", b"", "its module tree, without nvidia")


def _uvm_unloaded(t):
    t.sub("proc/modules", "nvidia_uvm 2076672 0 - Live 0x0000000000000000\n", "", "nvidia_uvm not loaded")
    t.remove("dev/nvidia-uvm", "no uvm device node")


def _stale_cdi(t):
    t.sub("var/run/cdi/nvidia.yaml", ".so.580.159.04", ".so.580.95.05", "spec generated for 580.95.05", count=-1)
    t.write("var/run/cdi/.nvidia.yaml.driver-version", "580.95.05\n", "stamp of 580.95.05")


def _toolkit_vulnerable(t):
    t.sub("var/lib/dpkg/status", "Version: 1.20.0-1", "Version: 1.17.7-1", "toolkit 1.17.7", count=-1)


def _toolkit_mixed(t):
    t.sub("var/lib/dpkg/status", "Version: 1.20.0-1", "Version: 1.19.0-1", "only nvidia-container-toolkit downgraded")


def _nvswitch_no_fm(t):
    for name, value in {"vendor": "0x10de", "device": "0x22a3", "class": "0x068000"}.items():
        t.write(f"sys/bus/pci/devices/0000:07:00.0/{name}", value + "\n", "an NVSwitch on the bus")


def _mig_on(t):
    t.sub(XML, "<current_mig>Disabled<", "<current_mig>Enabled<", "MIG enabled")
    t.sub(XML, "<pending_mig>Disabled<", "<pending_mig>Enabled<", "MIG enabled (pending too)")


def _nouveau(t):
    t.write("proc/modules", t.read("proc/modules") + "nouveau 2985984 0 - Live 0x0000000000000000\n", "nouveau loaded")


def _daemon_json_broken(t):
    t.write(
        "etc/docker/daemon.json", '{"runtimes": {"nvidia": {"path": "nvidia-container-runtime",}}\n', "trailing comma"
    )


def _no_runtime(t):
    t.write("etc/docker/daemon.json", '{"log-driver": "json-file"}\n', "no runtimes")


def _secure_boot_unsigned(t):
    t.write("lib/modules/6.8.0-87-generic/kernel/nvidia-580srv-open/nvidia.ko", b"\x7fELF unsigned", "module unsigned")
    t.remove("proc/driver/nvidia/version", "module refused: not loaded")
    t.write("proc/modules", "overlay 212992 0 - Live 0x0000000000000000\n", "no nvidia module loaded")
    t.remove(XML, "nvidia-smi has no driver to talk to")
    t.write(
        "commands/nvidia-smi-q.err",
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
        "its error",
    )


def _persistence_off(t):
    t.sub(XML, "<persistence_mode>Enabled<", "<persistence_mode>Disabled<", "persistence off")


def _gpu_missing(t):
    for name, value in {"vendor": "0x10de", "device": "0x2330", "class": "0x030200"}.items():
        t.write(
            f"sys/bus/pci/devices/0000:00:07.0/{name}", value + "\n", "a second H100 on the bus that the driver lost"
        )


def _disk_low(t):
    t.write(
        "commands/data-root-space.json",
        json.dumps({"path": "/var/lib/docker", "free_bytes": 6 * 2**30, "total_bytes": 100 * 2**30}),
        "6 GiB free",
    )


def _disk_full(t):
    t.write(
        "commands/data-root-space.json",
        json.dumps({"path": "/var/lib/docker", "free_bytes": 2**28, "total_bytes": 100 * 2**30}),
        "0.25 GiB free",
    )


def _unheld(t):
    t.sub(
        "var/lib/dpkg/status",
        "Status: hold ok installed",
        "Status: install ok installed",
        "driver packages not held",
        count=-1,
    )


def _old_branch(t):
    t.sub("proc/driver/nvidia/version", "580.159.04", "535.274.02", "R535 module")
    t.sub(XML, "<driver_version>580.159.04<", "<driver_version>535.274.02<", "R535 in nvidia-smi")
    t.sub(
        "var/lib/dpkg/status", "580.159.04-0ubuntu0.24.04.1", "535.274.02-0ubuntu0.24.04.1", "R535 packages", count=-1
    )
    os.rename(
        os.path.join(t.root, "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.159.04"),
        os.path.join(t.root, "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.274.02"),
    )
    t._label("libnvidia-ml renamed to 535.274.02")
    t.sub("var/run/cdi/nvidia.yaml", ".so.580.159.04", ".so.535.274.02", "CDI spec for R535", count=-1)
    t.write("var/run/cdi/.nvidia.yaml.driver-version", "535.274.02\n", "stamp for R535")


def _nvlink_text(inactive=()):
    links = "".join(f"\t Link {n}: {'<inactive>' if n in inactive else '26.562 GB/s'}\n" for n in range(18))
    return "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-ebf1a1f3-5d82-16b8-c385-621f039df60f)\n" + links


def _nvlink_down(t):
    t.write("commands/nvidia-smi-nvlink-s.txt", _nvlink_text(inactive=(4, 11)), "18 NVLink links, 4 and 11 inactive")


def _nvlink_up(t):
    t.write("commands/nvidia-smi-nvlink-s.txt", _nvlink_text(), "18 NVLink links, all active")


def _no_gpu(t):
    shutil.rmtree(os.path.join(t.root, GPU_SYSFS))
    t.remove(XML, "no GPU")
    t._label(f"{GPU_SYSFS}: removed")


FAULTS = {
    # name: (edit, finding id, severity, words the summary or fix must contain)
    "throttled clocks": (_throttled, "gpu.throttle", "error", "hw_slowdown"),
    "thermal software slowdown": (_thermal_sw, "gpu.throttle", "warning", "sw_thermal_slowdown"),
    "PCIe width downgraded": (_pcie_width, "gpu.pcie_link", "error", "x8 of x16"),
    "PCIe generation downgraded": (_pcie_gen, "gpu.pcie_link", "warning", "Gen3 of Gen5"),
    "uncorrectable ECC (volatile)": (_ecc_volatile, "gpu.ecc", "error", "reset"),
    "uncorrectable ECC (lifetime)": (_ecc_aggregate, "gpu.ecc", "warning", "lifetime"),
    "pending row remap": (_remap_pending, "gpu.memory_remap", "error", "reset"),
    "failed row remap": (_remap_failed, "gpu.memory_remap", "error", "RMA"),
    "Xid 79": (_xid_79, "gpu.xid", "error", "79"),
    "Xid 13 (application)": (_xid_13, "gpu.xid", "warning", "13"),
    "driver/library mismatch": (_library_mismatch, "driver.library_mismatch", "error", "Reboot"),
    "no module for an installed kernel": (_missing_kernel_module, "driver.kernel_modules", "error", "6.8.0-90-generic"),
    "nvidia_uvm not loaded": (_uvm_unloaded, "driver.nvidia_uvm", "error", "modprobe nvidia-uvm"),
    "stale CDI spec": (_stale_cdi, "containers.cdi", "error", "nvidia-ctk cdi generate"),
    "toolkit below the security floor": (_toolkit_vulnerable, "containers.toolkit", "error", "CVE-2025-23266"),
    "toolkit packages at two versions": (_toolkit_mixed, "containers.toolkit", "error", "1.19.0-1"),
    "NVSwitch without Fabric Manager": (
        _nvswitch_no_fm,
        "gpu.fabric_manager",
        "error",
        "nv-fabricmanager is not running",
    ),
    "MIG on": (_mig_on, "gpu.mig", "warning", "gpu_doctor_expect_mig"),
    "nouveau loaded": (_nouveau, "driver.nouveau", "error", "Blacklist nouveau"),
    "daemon.json invalid": (_daemon_json_broken, "containers.daemon_json", "error", "not valid JSON"),
    "no nvidia runtime": (_no_runtime, "containers.daemon_json", "warning", "nvidia-ctk runtime configure"),
    "Secure Boot, unsigned module": (_secure_boot_unsigned, "driver.secure_boot", "error", "mokutil"),
    "persistence mode off": (_persistence_off, "driver.persistence_mode", "warning", "nvidia-persistenced"),
    "a GPU lost by the driver": (_gpu_missing, "gpu.count", "error", "Xid 79"),
    "data-root low": (_disk_low, "containers.data_root_space", "warning", "6.0 GiB"),
    "data-root full": (_disk_full, "containers.data_root_space", "error", "docker system prune"),
    "driver packages not held": (_unheld, "apt.holds", "warning", "apt-mark hold"),
    "driver branch past end of life": (_old_branch, "driver.branch", "warning", "2026-06-30"),
    "no GPU": (_no_gpu, "gpu.present", "error", "No NVIDIA GPU"),
    "NVLink links down": (_nvlink_down, "gpu.nvlink", "warning", "GPU 0 link(s) 4, 11"),
}

# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind nvidia_gpu_facts: NVIDIA GPUs on the PCI bus, the loaded driver, nvidia-smi's view."""

from __future__ import annotations

import csv
import io
import os
import re

NVIDIA_VENDOR = "0x10de"
# PCI base class 0x03: display controllers (VGA 0x0300, 3D 0x0302). Audio functions of the same card differ.
DISPLAY_CLASS_PREFIX = "0x03"

QUERY_FIELDS = [
    "index",
    "name",
    "uuid",
    "memory.total",
    "compute_cap",
    "persistence_mode",
    "mig.mode.current",
    "pci.bus_id",
    "driver_version",
]
QUERY_ARGS = [f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits"]


class NvidiaSmiError(ValueError):
    """nvidia-smi printed something this parser cannot read."""


# NVSwitch (class 0x0680, "bridge: other"): gen2 (HGX A100) 0x1af1, gen3 (HGX H100/H200) 0x22a3/0x22a4.
NVSWITCH_DEVICE_IDS = ("0x1af1", "0x22a3", "0x22a4")
# The EFI variable SecureBoot-<EFI global variable GUID>: 4 bytes of attributes, then 1 byte, 1 = enabled.
SECURE_BOOT_EFIVAR = "firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


def pci_gpus(sysfs: str = "/sys") -> list[dict]:
    """NVIDIA display/3D controllers under <sysfs>/bus/pci/devices, sorted by address."""
    return [dev for dev in _pci_nvidia(sysfs) if dev["class"].startswith(DISPLAY_CLASS_PREFIX)]


def pci_nvswitches(sysfs: str = "/sys") -> list[dict]:
    """NVIDIA NVSwitch devices under <sysfs>/bus/pci/devices (hosts that need Fabric Manager)."""
    return [dev for dev in _pci_nvidia(sysfs) if dev["device_id"] in NVSWITCH_DEVICE_IDS]


def secure_boot_from_efivars(sysfs: str = "/sys") -> bool | None:
    """Secure Boot from the SecureBoot EFI variable: True/False, None where it cannot be read (BIOS boot)."""
    try:
        with open(os.path.join(sysfs, SECURE_BOOT_EFIVAR), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[4] == 1 if len(data) >= 5 else None


def _pci_nvidia(sysfs: str) -> list[dict]:
    root = os.path.join(sysfs, "bus", "pci", "devices")
    found = []
    try:
        addresses = sorted(os.listdir(root))
    except OSError:
        return found
    for address in addresses:
        try:
            with open(os.path.join(root, address, "vendor"), encoding="ascii") as handle:
                vendor = handle.read().strip().lower()
            with open(os.path.join(root, address, "class"), encoding="ascii") as handle:
                pci_class = handle.read().strip().lower()
            with open(os.path.join(root, address, "device"), encoding="ascii") as handle:
                device = handle.read().strip().lower()
        except OSError:
            continue
        if vendor == NVIDIA_VENDOR:
            found.append({"address": address, "device_id": device, "class": pci_class})
    return found


def loaded_driver_version(proc_version_text: str | None) -> str | None:
    """The version in /proc/driver/nvidia/version ('... Kernel Module  580.95.05 ...')."""
    if not proc_version_text:
        return None
    match = re.search(r"Kernel Module(?: for [\w-]+)?\s+([0-9]+(?:\.[0-9]+)+)", proc_version_text)
    return match.group(1) if match else None


def _value(text: str):
    text = text.strip()
    return None if text in ("[N/A]", "N/A", "[Not Supported]", "") else text


def parse_query_gpu(output: str) -> list[dict]:
    """Rows of `nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits`."""
    gpus = []
    for row in csv.reader(io.StringIO(output.strip()), skipinitialspace=True):
        if not row:
            continue
        if len(row) != len(QUERY_FIELDS):
            raise NvidiaSmiError(f"expected {len(QUERY_FIELDS)} fields, got {len(row)}: {','.join(row)!r}")
        raw = dict(zip(QUERY_FIELDS, (_value(cell) for cell in row), strict=True))
        try:
            memory = int(float(raw["memory.total"])) if raw["memory.total"] else None
            index = int(raw["index"])
        except ValueError as exc:
            raise NvidiaSmiError(f"unreadable number in {','.join(row)!r}") from exc
        gpus.append(
            {
                "index": index,
                "name": raw["name"],
                "uuid": raw["uuid"],
                "memory_total_mib": memory,
                "compute_capability": raw["compute_cap"],
                "persistence_mode": raw["persistence_mode"],
                "mig_mode": raw["mig.mode.current"],
                "pci_bus_id": raw["pci.bus_id"],
                "driver_version": raw["driver_version"],
            }
        )
    return gpus


def parse_cuda_version(smi_header: str) -> str | None:
    """The 'CUDA Version: 13.0' nvidia-smi prints in its banner: the newest CUDA the driver supports."""
    match = re.search(r"CUDA Version\s*:\s*([0-9]+\.[0-9]+)", smi_header)
    return match.group(1) if match else None

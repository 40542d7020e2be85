# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the ubuntu_drivers module and the nvidia_driver role's Ubuntu path.

They read what Canonical's `ubuntu-drivers` prints as data (one package per line, `PKG, (kernel modules
provided by MOD)`), never its English sentences, and decide from dpkg's state whether an install happened.
What ubuntu-drivers 0.9.6/0.9.7 (jammy, noble) does, read from its code:
- `ubuntu-drivers install` ignores the exit code of the `apt-get install` it runs and exits 0 whatever
  happened (a held dpkg lock, a failed dependency): only dpkg's state afterwards says what was installed.
- `install --gpgpu nvidia:B` installs nvidia-headless-no-dkms-B plus the kernel module package
  get_linux_modules_metapackage() picks: linux-modules-nvidia-B-<kernel flavour> when Canonical ships a
  prebuilt module for the newest installed kernel, else nvidia-dkms-B. Without --include-dkms it then drops
  the driver silently and exits 0 ("All the available drivers are already installed."). It installs no
  nvidia-utils-B (no nvidia-smi).
- without a branch, --gpgpu walks every matching driver in preference order and installs the first one not
  installed yet: a rerun can install a second branch. So the role always names one.
"""

from __future__ import annotations

import re

# `ubuntu-drivers list [--gpgpu] [--include-dkms]` lines (the `list` command of the ubuntu-drivers script).
_LIST_LINE = re.compile(
    r"^(?P<pkg>[a-z0-9][a-z0-9+.-]+)(?:, \(kernel modules provided by (?P<mod>[a-z0-9][a-z0-9+.-]+|None)\))?$"
)
# Ubuntu's driver flavours: 580, 580-open, 580-server, 580-server-open.
_BRANCH = re.compile(r"^(?:nvidia:)?(?P<flavour>[0-9]{3}(?:-server)?(?:-open)?)$")
# The first GPU generation NVIDIA's open kernel modules support is Turing; its PCI device IDs start at
# 0x1e00 (TU102) and every later generation (Ampere 0x20xx, Hopper 0x23xx, Ada 0x26xx-0x28xx, Blackwell
# 0x29xx and up) is above; Volta (0x1d81-0x1dbx), Pascal and older are below and need the proprietary one.
# https://github.com/NVIDIA/open-gpu-kernel-modules#compatible-gpus
TURING_FIRST_DEVICE_ID = 0x1E00
# NVSwitch PCI devices (class 0x0680): gen2 on HGX A100 (0x1af1), gen3 on HGX H100/H200 (0x22a3, 0x22a4).
# Fabric Manager runs only where these are; it fails to start elsewhere.
NVSWITCH_DEVICE_IDS = frozenset({0x1AF1, 0x22A3, 0x22A4})


class PlanError(ValueError):
    """What ubuntu-drivers offers cannot give the requested driver; the message says what to do."""


def parse_list(output: str) -> list[dict]:
    """[{'package': 'nvidia-driver-580-server', 'modules': 'linux-modules-nvidia-580-server-azure'}, ...]."""
    entries = []
    for line in output.splitlines():
        match = _LIST_LINE.match(line.strip())
        if match and match.group("pkg").startswith("nvidia-"):
            modules = match.group("mod")
            entries.append({"package": match.group("pkg"), "modules": None if modules in (None, "None") else modules})
    return entries


def normalize_branch(branch: str) -> str:
    """'nvidia:580-server' or '580-server' -> '580-server'; ValueError for anything else."""
    match = _BRANCH.match(branch.strip())
    if not match:
        raise ValueError(
            f"{branch!r} is not an Ubuntu NVIDIA driver branch: expected e.g. 580-server, 580-server-open, "
            "570-server or nvidia:580-server"
        )
    return match.group("flavour")


def branch_major(branch: str) -> str:
    return normalize_branch(branch).split("-", 1)[0]


def open_modules_supported(pci_devices: list[dict]) -> bool:
    """Every GPU on the bus is Turing or newer (True for no GPU: NVIDIA's default since R560)."""
    return all(int(str(dev.get("device_id", "0")), 16) >= TURING_FIRST_DEVICE_ID for dev in pci_devices)


def default_branch(pci_devices: list[dict], series: str = "580-server") -> str:
    """The policy: `series` (R580 server, NVIDIA's long-term branch), -open where every GPU supports it."""
    base = normalize_branch(series).removesuffix("-open")
    return f"{base}-open" if open_modules_supported(pci_devices) else base


def nvswitch_present(devices: list[dict]) -> bool:
    return any(int(str(dev.get("device_id", "0")), 16) in NVSWITCH_DEVICE_IDS for dev in devices)


def plan(
    entries: list[dict], branch: str, gpgpu: bool, include_dkms: bool, kernel: str = "the newest installed kernel"
) -> dict:
    """What `ubuntu-drivers install [--gpgpu] nvidia:BRANCH [--include-dkms]` will install, from `list`.

    `entries` is parse_list() of `ubuntu-drivers list [--gpgpu] --include-dkms`. Returns
    {'driver': nvidia-driver-B, 'userspace': the metapackage it installs, 'modules': the kernel module
    package, 'dkms': whether that is nvidia-dkms-B, 'packages': [userspace, modules]}.
    """
    flavour = normalize_branch(branch)
    driver = f"nvidia-driver-{flavour}"
    offered = [e for e in entries if e["package"] == driver]
    if not offered:
        others = ", ".join(sorted({e["package"].removeprefix("nvidia-driver-") for e in entries})) or "none"
        raise PlanError(
            f"ubuntu-drivers has no driver for branch {flavour} on this host's GPUs (it offers: {others}). "
            f"Set nvidia_driver_ubuntu_branch to one of those, or check that the apt sources carry the "
            f"restricted component and the index is fresh (apt-get update)."
        )
    modules = offered[0]["modules"]
    if not modules:
        raise PlanError(
            f"ubuntu-drivers found no kernel module package for {driver} and {kernel} (neither "
            f"linux-modules-nvidia-{flavour}-<flavour> nor nvidia-dkms-{flavour}): install the linux-image "
            "metapackage of your kernel flavour (e.g. linux-image-generic) and rerun."
        )
    dkms = modules.startswith("nvidia-dkms-")
    if dkms and not include_dkms:
        raise PlanError(
            f"Canonical ships no prebuilt NVIDIA {flavour} module for {kernel}: ubuntu-drivers would need "
            f"--include-dkms to build {modules} from source (it otherwise installs nothing and still exits 0). "
            "Either boot a kernel flavour with prebuilt modules (generic, azure, aws, gcp...: "
            f"linux-modules-nvidia-{flavour}-<flavour>), or set nvidia_driver_ubuntu_include_dkms=true "
            "(needs the kernel headers, and under Secure Boot an enrolled MOK key)."
        )
    userspace = f"nvidia-headless-no-dkms-{flavour}" if gpgpu else driver
    return {
        "driver": driver,
        "userspace": userspace,
        "modules": modules,
        "dkms": dkms,
        "packages": [userspace, modules],
    }


def install_argv(branch: str, gpgpu: bool, include_dkms: bool) -> list[str]:
    """`ubuntu-drivers install` with --gpgpu on the subcommand (the group-level flag is a no-op in 0.9.x)."""
    argv = ["ubuntu-drivers", "install"]
    if gpgpu:
        argv.append("--gpgpu")
    if include_dkms:
        argv.append("--include-dkms")
    return [*argv, f"nvidia:{normalize_branch(branch)}"]


def parse_dpkg_status(output: str) -> dict[str, dict]:
    """`dpkg-query -W -f '${Package}\\t${db:Status-Abbrev}\\t${Version}\\n' NAMES...` -> {name: {...}}."""
    packages = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        name, status, version = (p.strip() for p in parts)
        packages[name] = {
            "installed": status.startswith("ii") or status.startswith("hi"),
            "status": status,
            "version": version,
        }
    return packages


def upstream_version(debian_version: str | None) -> str | None:
    """'580.95.05-0ubuntu0.24.04.1' -> '580.95.05' (the version /proc/driver/nvidia/version reports)."""
    if not debian_version:
        return None
    match = re.match(r"^(?:[0-9]+:)?([0-9]+(?:\.[0-9]+)+)", debian_version)
    return match.group(1) if match else None


def hold_set(installed: list[str], branch: str) -> list[str]:
    """The installed packages of this branch to hold: userspace and DKMS, never linux-modules-nvidia-*.

    The driver's userspace (nvidia-headless-no-dkms-B, nvidia-utils-B, libnvidia-compute-B, ...) must not
    move without its kernel module. The linux-modules-nvidia-B-<flavour> metapackage is left free: it
    follows the linux-<flavour> metapackage, so a new kernel arrives together with its prebuilt module;
    held, it would let unattended-upgrades install a new kernel without one (next boot: no driver).
    """
    flavour = normalize_branch(branch)
    pattern = re.compile(rf"^(?:lib)?nvidia-[a-z0-9-]*?-?{re.escape(flavour)}(?:-[0-9.]+)?$")
    keep = []
    for name in installed:
        if name.startswith("linux-"):
            continue
        # The flavour ends the name (or only the firmware's version follows: nvidia-firmware-580-server-580.95.05),
        # so 580-server never picks 580-server-open's packages.
        if pattern.match(name):
            keep.append(name)
    return sorted(set(keep))


def version_key(kernel: str) -> tuple:
    """Sort key for kernel versions such as 6.8.0-1041-azure (numbers compared as numbers)."""
    return tuple(int(part) for part in re.findall(r"[0-9]+", kernel))

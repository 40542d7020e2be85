#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_gpu_facts
short_description: NVIDIA GPUs on the PCI bus, the loaded driver and what nvidia-smi reports
description:
  - Lists NVIDIA display/3D controllers under /sys/bus/pci (vendor 0x10de), reads the loaded driver's version
    from /proc/driver/nvidia/version, and, where nvidia-smi answers, the CUDA version the driver supports and
    per GPU its index, name, UUID, memory, compute capability, persistence mode and MIG mode.
  - Sets the fact C(nvidia_gpu). Changes nothing on the host.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  require_nvidia_smi:
    description:
      - Fail when nvidia-smi is missing or fails. Set to V(false) to detect what is there (a host without a
        driver yet), in which case RV(ansible_facts.nvidia_gpu.smi_error) says why nvidia-smi gave nothing.
    type: bool
    default: true
  nvidia_smi:
    description: The nvidia-smi command; looked up on PATH.
    type: str
    default: nvidia-smi
  sysfs_root:
    description:
      - Where sysfs is mounted, read for the PCI devices (C(SYSFS_ROOT/bus/pci/devices)) and the Secure Boot
        EFI variable. V(/sys) on every real host; tests point it at a fake sysfs (the Ubuntu stand-in
        test image's C(/opt/gpuhost-standin/sys)), the way ubuntu-drivers reads C(UBUNTU_DRIVERS_SYS_DIR).
    type: path
    default: /sys
  procfs_root:
    description:
      - Where procfs is mounted, read for the loaded kernel module's version (C(PROCFS_ROOT/driver/nvidia/version)).
        V(/proc) on every real host; tests point it at a fake one (the Ubuntu stand-in test image's
        C(/opt/gpuhost-standin/proc)) to play a loaded driver where no kernel module can be loaded.
    type: path
    default: /proc
  installed_package:
    description:
      - A Debian package (or a dpkg-query pattern, e.g. C(libnvidia-compute-*)) whose installed upstream version
        is reported as RV(ansible_facts.nvidia_gpu.installed_version), to compare the driver's userspace with the
        loaded kernel module in the same run.
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
"""

EXAMPLES = r"""
- name: GPU facts are known
  gpuhost.provision.nvidia_gpu_facts:

- name: GPUs are detected, driver or not
  gpuhost.provision.nvidia_gpu_facts:
    require_nvidia_smi: false
"""

RETURN = r"""
ansible_facts:
  description: Facts under the key nvidia_gpu.
  returned: always
  type: complex
  contains:
    nvidia_gpu:
      description: What was found.
      type: dict
      returned: always
      contains:
        pci_devices:
          description: NVIDIA GPUs on the PCI bus (address, device_id, class), whether or not a driver is loaded.
          type: list
          elements: dict
          sample: [{"address": "0000:00:07.0", "device_id": "0x2330", "class": "0x030200"}]
        nvswitch_devices:
          description: NVIDIA NVSwitch devices on the PCI bus (hosts that need Fabric Manager).
          type: list
          elements: dict
          sample: [{"address": "0000:c1:00.0", "device_id": "0x22a3", "class": "0x068000"}]
        secure_boot:
          description: Secure Boot as the SecureBoot EFI variable says; null where it cannot be read (BIOS boot).
          type: bool
          sample: false
        driver_loaded:
          description: Whether /proc/driver/nvidia/version exists (the kernel module is loaded).
          type: bool
          sample: true
        driver_version:
          description: The loaded driver's version, or nvidia-smi's when /proc does not say.
          type: str
          sample: "580.95.05"
        cuda_version:
          description: The newest CUDA version the driver supports, from nvidia-smi's banner.
          type: str
          sample: "13.0"
        gpus:
          description: One entry per GPU nvidia-smi lists.
          type: list
          elements: dict
          sample:
            - index: 0
              name: NVIDIA H100 80GB HBM3
              uuid: GPU-4b0e1b0c-5a6d-7c3e-9f1a-2b3c4d5e6f70
              memory_total_mib: 81559
              compute_capability: "9.0"
              persistence_mode: Enabled
              mig_mode: Disabled
              pci_bus_id: "00000000:00:07.0"
              driver_version: "580.95.05"
        gpu_count:
          description: Number of GPUs nvidia-smi lists.
          type: int
          sample: 1
        installed_version:
          description:
            - The upstream version of O(installed_package) that dpkg has installed; empty where none is. Only with
              O(installed_package).
          type: str
          sample: "580.95.05"
        smi_error:
          description: Why nvidia-smi gave no GPUs, when it did not.
          type: str
          sample: nvidia-smi is not installed (not found on PATH)
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_gpu import (
    QUERY_ARGS,
    NvidiaSmiError,
    loaded_driver_version,
    parse_cuda_version,
    parse_query_gpu,
    pci_gpus,
    pci_nvswitches,
    secure_boot_from_efivars,
)

PROC_VERSION = "driver/nvidia/version"
# "ii  nvidia-smi 580.95.05-1" -> 580.95.05: the epoch and Debian revision are not the driver's version.
INSTALLED = re.compile(r"^[ih]i\S*\s+\S+\s+(?:\d+:)?(\d+(?:\.\d+)+)", re.MULTILINE)


def installed_version(module, package: str) -> str:
    """The upstream version of the first installed package dpkg-query matches; '' where none is (or no dpkg)."""
    dpkg_query = module.get_bin_path("dpkg-query")
    if dpkg_query is None:
        return ""
    rc, out, _err = module.run_command([dpkg_query, "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n", package])
    found = INSTALLED.search(out) if rc in (0, 1) else None
    return found.group(1) if found else ""


def read_proc_version(procfs_root):
    try:
        with open(os.path.join(procfs_root, PROC_VERSION), encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def query_smi(module):
    """(gpus, cuda_version, error) from nvidia-smi."""
    smi = module.get_bin_path(module.params["nvidia_smi"])
    if smi is None:
        return [], None, f"{module.params['nvidia_smi']} is not installed (not found on PATH)"
    rc, out, err = module.run_command([smi, *QUERY_ARGS])
    if rc != 0:
        return [], None, f"'{smi} {' '.join(QUERY_ARGS)}' failed with rc {rc}: {(err or out).strip()}"
    try:
        gpus = parse_query_gpu(out)
    except NvidiaSmiError as exc:
        return [], None, f"could not read the output of '{smi} {' '.join(QUERY_ARGS)}': {exc}"
    rc, banner, _err = module.run_command([smi])
    return gpus, parse_cuda_version(banner) if rc == 0 else None, None


def main():
    module = AnsibleModule(
        argument_spec={
            "require_nvidia_smi": {"type": "bool", "default": True},
            "nvidia_smi": {"type": "str", "default": "nvidia-smi"},
            "sysfs_root": {"type": "path", "default": "/sys"},
            "procfs_root": {"type": "path", "default": "/proc"},
            "installed_package": {"type": "str"},
        },
        supports_check_mode=True,
    )
    proc_text = read_proc_version(module.params["procfs_root"])
    gpus, cuda_version, error = query_smi(module)
    driver_version = loaded_driver_version(proc_text) or (gpus[0]["driver_version"] if gpus else None)
    sysfs = module.params["sysfs_root"]
    facts = {
        "pci_devices": pci_gpus(sysfs),
        "nvswitch_devices": pci_nvswitches(sysfs),
        "secure_boot": secure_boot_from_efivars(sysfs),
        "driver_loaded": proc_text is not None,
        "driver_version": driver_version,
        "cuda_version": cuda_version,
        "gpus": gpus,
        "gpu_count": len(gpus),
        "smi_error": error,
    }
    if module.params["installed_package"]:
        facts["installed_version"] = installed_version(module, module.params["installed_package"])
    if error and module.params["require_nvidia_smi"]:
        module.fail_json(msg=error, ansible_facts={"nvidia_gpu": facts})
    module.exit_json(changed=False, ansible_facts={"nvidia_gpu": facts})


if __name__ == "__main__":
    main()

# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: nvidia_default_branch
short_description: The Ubuntu NVIDIA driver branch the nvidia_driver role picks for the GPUs on the PCI bus
version_added: 0.2.0
author: gpuhost contributors
description:
  - Returns the branch series (default C(580-server), NVIDIA's long-term support branch) with C(-open)
    where every GPU's PCI device ID is Turing (0x1e00) or newer, the proprietary flavour otherwise (Volta,
    Pascal and older are not supported by NVIDIA's open kernel modules; Blackwell needs them).
  - The same file provides C(nvidia_hold_set) (the installed packages of a branch the role holds, userspace
    and DKMS, never C(linux-modules-nvidia-*)) and C(nvidia_nvswitch_present).
positional: series
options:
  _input:
    description: The C(pci_devices) list of P(gpuhost.provision.nvidia_gpu_facts#module).
    type: list
    elements: dict
    required: true
  series:
    description: The branch series without C(-open).
    type: str
    default: 580-server
"""

EXAMPLES = r"""
- name: The branch is known
  ansible.builtin.set_fact:
    branch: "{{ ansible_facts['nvidia_gpu'].pci_devices | gpuhost.provision.nvidia_default_branch }}"
"""

RETURN = r"""
_value:
  description: A branch such as C(580-server-open).
  type: str
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.ubuntu_drivers import (
    default_branch,
    hold_set,
    nvswitch_present,
)


def nvidia_default_branch(pci_devices, series="580-server"):
    return default_branch(list(pci_devices or []), series)


def nvidia_hold_set(installed, branch):
    return hold_set(list(installed or []), branch)


def nvidia_nvswitch_present(devices):
    return nvswitch_present(list(devices or []))


class FilterModule:
    def filters(self):
        return {
            "nvidia_default_branch": nvidia_default_branch,
            "nvidia_hold_set": nvidia_hold_set,
            "nvidia_nvswitch_present": nvidia_nvswitch_present,
        }

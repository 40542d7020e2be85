# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: cuda_requirements_unmet
short_description: The CUDA requirements an image declares that this host's driver does not meet
version_added: 0.2.0
author: gpuhost contributors
description:
  - Judges an image from its own config (C(docker image inspect)'s C(Config.Env)), never from its tag, with
    the rules NVIDIA's container runtime applies. C(NVIDIA_REQUIRE_CUDA) such as
    C(cuda>=12.4 brand=tesla,driver>=535,driver<536) holds when any space-separated term holds (all its
    comma-separated factors), so a 535 datacenter driver runs a CUDA 12.4 image that declares C(driver>=535).
    An image with only C(CUDA_VERSION) asks for C(cuda>=major.minor); C(NVIDIA_DISABLE_REQUIRE) turns checks off.
  - Returns the unmet requirements; an empty list means the image may run.
  - The same file provides C(smi_gpu_uuids), which lists the GPU UUIDs in C(nvidia-smi -L) output.
positional: driver_version, cuda_version, brand
options:
  _input:
    description: The image's environment, a list of C(NAME=value) strings.
    type: list
    elements: str
    required: true
  driver_version:
    description: The loaded driver's version, e.g. C(535.183.01).
    type: str
    required: true
  cuda_version:
    description: The highest CUDA version the driver supports, e.g. C(12.2).
    type: str
    required: true
  brand:
    description: The GPU's product brand as NVML names it (C(nvidia), C(tesla), ...); unknown if omitted.
    type: str
"""

EXAMPLES = r"""
- name: The image is one the driver supports
  ansible.builtin.assert:
    that: (image_env | gpuhost.provision.cuda_requirements_unmet('535.183.01', '12.2', 'tesla')) | length == 0
"""

RETURN = r"""
_value:
  description: The requirements that do not hold, e.g. C(["cuda>=12.6"]); empty when the image may run.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.gpuhost.provision.plugins.module_utils.cuda_require import RequirementError, check

_UUID = re.compile(r"\(UUID: (GPU-[0-9a-fA-F-]+)\)")


def cuda_requirements_unmet(env_list, driver_version, cuda_version, brand=None):
    try:
        return check(env_list, str(driver_version), str(cuda_version), brand or None)[1]
    except RequirementError as exc:
        raise AnsibleFilterError(f"the image's NVIDIA_REQUIRE_* / CUDA_VERSION cannot be read: {exc}") from exc


def smi_gpu_uuids(output):
    """GPU UUIDs in `nvidia-smi -L` output; MIG devices (lines starting 'MIG') are not GPUs."""
    return [m.group(1) for line in output.splitlines() if line.startswith("GPU ") for m in [_UUID.search(line)] if m]


class FilterModule:
    def filters(self):
        return {"cuda_requirements_unmet": cuda_requirements_unmet, "smi_gpu_uuids": smi_gpu_uuids}

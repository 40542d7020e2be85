# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: cuda_image_version
short_description: The CUDA version a CUDA container image's tag asks for
version_added: 0.1.0
author: gpuhost contributors
description:
  - Reads the major.minor CUDA version from an image reference such as C(nvidia/cuda:12.6.3-base-ubuntu24.04)
    or C(pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime). Returns None where the tag names none.
  - The same file provides C(smi_gpu_uuids), which lists the GPU UUIDs in C(nvidia-smi -L) output.
positional: ""
options:
  _input:
    description: The image reference.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The CUDA image is one the driver supports
  ansible.builtin.assert:
    that: (gpu_verify_cuda_image | gpuhost.provision.cuda_image_version) is version('12.8', '<=')
"""

RETURN = r"""
_value:
  description: The version, e.g. C(12.6), or None.
  type: str
"""

import re

# nvidia/cuda:<x.y.z>-..., or a tag naming cuda<x.y> (pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime).
_NVIDIA_CUDA = re.compile(r"(?:^|/)cuda:(\d+)\.(\d+)")
_TAG_CUDA = re.compile(r":.*?cuda[-_]?(\d+)\.(\d+)", re.IGNORECASE)
_UUID = re.compile(r"\(UUID: (GPU-[0-9a-fA-F-]+)\)")


def cuda_image_version(image):
    match = _NVIDIA_CUDA.search(image) or _TAG_CUDA.search(image)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def smi_gpu_uuids(output):
    """GPU UUIDs in `nvidia-smi -L` output; MIG devices (lines starting 'MIG') are not GPUs."""
    return [m.group(1) for line in output.splitlines() if line.startswith("GPU ") for m in [_UUID.search(line)] if m]


class FilterModule:
    def filters(self):
        return {"cuda_image_version": cuda_image_version, "smi_gpu_uuids": smi_gpu_uuids}

# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: nvidia_toolkit_open_cves
short_description: Published NVIDIA Container Toolkit CVEs a toolkit version has not fixed
version_added: 0.1.0
author: gpuhost contributors
description:
  - Compares a toolkit version (C(1.17.7-1), C(1.17.7), C(1.20.0~rc.1-1)) with the CVE table in
    C(plugins/module_utils/nvidia_toolkit_cves.py) and returns the rows whose fixed version is newer.
  - An empty version returns an empty list. The same file provides C(nvidia_toolkit_cve_floor), the lowest
    version with every fix (its input is ignored).
positional: ""
options:
  _input:
    description: The toolkit's package version.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The pinned toolkit has every published fix
  ansible.builtin.assert:
    that: nvidia_container_toolkit_version | gpuhost.provision.nvidia_toolkit_open_cves | length == 0
"""

RETURN = r"""
_value:
  description: One dict per open CVE, with keys C(cve), C(fixed) and C(summary).
  type: list
  elements: dict
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_toolkit_cves import floor, open_cves


def nvidia_toolkit_cve_floor(_ignored=None):
    return floor()


class FilterModule:
    def filters(self):
        return {"nvidia_toolkit_open_cves": open_cves, "nvidia_toolkit_cve_floor": nvidia_toolkit_cve_floor}

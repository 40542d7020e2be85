# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_escape_path
short_description: The unit name systemd gives a path, as systemd-escape --path prints it
version_added: 0.1.0
author: gpuhost contributors
description:
  - C(/mnt/nvme) becomes C(mnt-nvme) (add C(.mount) for its mount unit), C(/dev/disk/by-id/nvme-X) becomes
    C(dev-disk-by\x2did-nvme\x2dX) (add C(.device)).
positional: ""
options:
  _input:
    description: An absolute path.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The mount unit for the data disk
  ansible.builtin.template:
    src: data.mount.j2
    dest: "/etc/systemd/system/{{ '/mnt/nvme' | gpuhost.provision.systemd_escape_path }}.mount"
    owner: root
    group: root
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The escaped name, without a unit suffix.
  type: str
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.data_disk import systemd_escape_path


class FilterModule:
    def filters(self):
        return {"systemd_escape_path": systemd_escape_path}

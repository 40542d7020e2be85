#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: data_disk
short_description: Format a local data disk only if it is blank
description:
  - Probes O(device) with C(blkid -p) (low-level, no cache). Where it finds nothing (exit 2) the disk is blank and
    is formatted with C(mkfs.FSTYPE -L LABEL). A filesystem of type O(fstype) is left as it is. Anything else (a
    partition table, another filesystem, a RAID or LVM member, an ambivalent probe) fails the task, and nothing is
    written.
  - Meant for disks that come blank and are wiped again, as Azure's local NVMe disks are on deallocation; the
    docker role's boot-time unit applies the same rule before mounting.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  device:
    description: The block device, preferably a stable name (C(/dev/disk/by-id/...)).
    type: path
    required: true
  fstype:
    description: The filesystem to create, and the one a disk already formatted must have.
    type: str
    default: ext4
    choices: [ext4, xfs]
  label:
    description: The filesystem label given when formatting.
    type: str
    default: gpuhost-data
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: The local NVMe disk holds a filesystem (formatted only if it was blank)
  gpuhost.provision.data_disk:
    device: /dev/nvme0n1
"""

RETURN = r"""
action:
  description: format (it was blank), keep (it holds the filesystem already).
  type: str
  returned: success
  sample: format
reason:
  description: What blkid found, in words.
  type: str
  returned: always
  sample: "blank: blkid -p found no filesystem, partition table, RAID or LVM signature"
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.data_disk import decide


def main():
    module = AnsibleModule(
        argument_spec={
            "device": {"type": "path", "required": True},
            "fstype": {"type": "str", "default": "ext4", "choices": ["ext4", "xfs"]},
            "label": {"type": "str", "default": "gpuhost-data"},
        },
        supports_check_mode=True,
    )
    device = module.params["device"]
    try:
        is_block = stat.S_ISBLK(os.stat(device).st_mode)
    except OSError as exc:
        module.fail_json(msg=f"{device} does not exist ({exc.strerror}): name the data disk's device", reason="")
    if not is_block:
        module.fail_json(msg=f"{device} is not a block device", reason="")
    blkid = module.get_bin_path("blkid", required=True)
    rc, out, err = module.run_command([blkid, "-p", "-o", "export", device], environ_update={"LC_ALL": "C"})
    action, reason = decide(rc, out + err, module.params["fstype"])
    if action == "refuse":
        module.fail_json(msg=f"{device} was not formatted: {reason}. Nothing was written.", reason=reason)
    if action == "keep":
        module.exit_json(changed=False, action=action, reason=reason)
    if not module.check_mode:
        mkfs = module.get_bin_path(f"mkfs.{module.params['fstype']}", required=True)
        rc, out, err = module.run_command([mkfs, "-L", module.params["label"], device], environ_update={"LC_ALL": "C"})
        if rc != 0:
            module.fail_json(msg=f"{mkfs} {device} failed (exit {rc}): {err.strip()}", reason=reason)
    module.exit_json(changed=True, action=action, reason=reason)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_state_matches
short_description: Say, in one read-only run, whether files and packages are already as a role would leave them
description:
  - Compares files (content, mode, owner, group) and Debian packages (installed, held) with what the caller
    expects, and returns O(ignore:matches) with every difference named. Changes nothing.
  - Lets a role skip an install path of many tasks on a host where all of it is already in place (each task
    there costs a module run), and still walk that path, repairing what drifted, wherever anything differs.
version_added: 0.2.0
author: gpuhost contributors (@gpuhost)
options:
  files:
    description: Files as they should be.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      content:
        description: Its whole expected content.
        type: str
        required: true
      mode:
        description: Its expected mode, octal, e.g. C(0644).
        type: str
        default: "0644"
      owner:
        description: Its expected owner.
        type: str
        default: root
      group:
        description: Its expected group.
        type: str
        default: root
  packages_installed:
    description: Packages dpkg must have installed.
    type: list
    elements: str
    default: []
  packages_held:
    description: Packages dpkg must have on hold.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: The driver's files and packages are already in place
  gpuhost.provision.host_state_matches:
    files:
      - path: /etc/modprobe.d/gpuhost-blacklist-nouveau.conf
        content: "blacklist nouveau\n"
    packages_installed: [nvidia-driver]
    packages_held: [nvidia-driver]
  register: state
"""

RETURN = r"""
matches:
  description: Whether everything is as expected.
  type: bool
  returned: always
differences:
  description: What differs, one sentence each.
  type: list
  elements: str
  returned: always
  sample: ["/etc/modprobe.d/gpuhost-blacklist-nouveau.conf: content differs", "nvidia-driver: not held"]
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def file_differences(spec: dict) -> list[str]:
    path = spec["path"]
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return [f"{path}: missing"]
    if not stat.S_ISREG(info.st_mode):
        return [f"{path}: not a regular file"]
    found = []
    with open(path, "rb") as handle:
        if handle.read() != spec["content"].encode():
            found.append(f"{path}: content differs")
    if stat.S_IMODE(info.st_mode) != int(spec["mode"], 8):
        found.append(f"{path}: mode {stat.S_IMODE(info.st_mode):04o}, not {spec['mode']}")
    if info.st_uid != pwd.getpwnam(spec["owner"]).pw_uid:
        found.append(f"{path}: owner is not {spec['owner']}")
    if info.st_gid != grp.getgrnam(spec["group"]).gr_gid:
        found.append(f"{path}: group is not {spec['group']}")
    return found


def package_differences(module: AnsibleModule, installed: list[str], held: list[str]) -> list[str]:
    names = sorted(set(installed) | set(held))
    if not names:
        return []
    # db:Status-Abbrev: the wanted state (h = hold), then the current one (i = installed); unknown names
    # make dpkg-query exit 1 and are simply not listed.
    rc, out, err = module.run_command(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n", *names])
    if rc not in (0, 1):
        module.fail_json(msg=f"dpkg-query failed: {err.strip()}")
    status = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2:
            status[fields[0].split(":")[0]] = fields[1]
    found = [f"{name}: not installed" for name in installed if status.get(name, "  ")[1:2] != "i"]
    found += [f"{name}: not held" for name in held if status.get(name, "  ")[:1] != "h"]
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "mode": {"type": "str", "default": "0644"},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                },
            },
            "packages_installed": {"type": "list", "elements": "str", "default": []},
            "packages_held": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    found = []
    for spec in module.params["files"]:
        found += file_differences(spec)
    found += package_differences(module, module.params["packages_installed"], module.params["packages_held"])
    module.exit_json(changed=False, matches=not found, differences=found)


if __name__ == "__main__":
    main()

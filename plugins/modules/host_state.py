#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_state
short_description: Put files and dpkg holds in place in one module run, or say in check mode whether they are
description:
  - Makes files (content, mode, owner, group; parent directories created) and dpkg holds what the caller
    expects, and checks that packages are installed; every difference found is named in RV(differences).
  - In check mode it changes nothing and only reports, so the same task run with C(check_mode=true) is the
    read-only question "is all of this already in place?" (RV(matches)).
  - One module run for what would otherwise be a C(copy) or C(template) per file and a C(dpkg_selections) per
    package, each several module runs; on a converged host that is most of a role's time.
version_added: 0.2.0
author: gpuhost contributors (@gpuhost)
options:
  files:
    description: Files as they should be. A file whose content differs is replaced in one rename; one whose
      mode, owner or group alone differ is only changed in place. A symlink in the way is replaced by the file.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      content:
        description: Its whole content.
        type: str
        required: true
      mode:
        description: Its mode, octal, e.g. C(0644).
        type: str
        default: "0644"
      owner:
        description: Its owner.
        type: str
        default: root
      group:
        description: Its group.
        type: str
        default: root
  packages_installed:
    description: Packages dpkg must have installed. Checked only, never installed (apt does that); outside
      check mode a missing one fails the task.
    type: list
    elements: str
    default: []
  packages_held:
    description: Packages to put on hold (C(dpkg --set-selections)). Outside check mode one that is not
      installed fails the task.
    type: list
    elements: str
    default: []
  version_of:
    description: A C(dpkg-query) pattern whose installed version is returned as RV(version).
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

EXAMPLES = r"""
- name: The driver's files are in place and its packages held
  gpuhost.provision.host_state:
    files:
      - path: /etc/modprobe.d/gpuhost-blacklist-nouveau.conf
        content: "blacklist nouveau\n"
    packages_held: [nvidia-driver, nvidia-smi]
    version_of: nvidia-smi
  register: configured

- name: Everything the install path leaves is already there (read-only)
  gpuhost.provision.host_state:
    files:
      - path: /etc/modprobe.d/gpuhost-blacklist-nouveau.conf
        content: "blacklist nouveau\n"
    packages_installed: [nvidia-driver]
    packages_held: [nvidia-driver]
  check_mode: true
  changed_when: false
  register: state
"""

RETURN = r"""
matches:
  description: Whether everything was already as expected before the task.
  type: bool
  returned: always
differences:
  description: What differed before the task, one sentence each (outside check mode, what was put right).
  type: list
  elements: str
  returned: always
  sample: ["/etc/modprobe.d/gpuhost-blacklist-nouveau.conf: content differs", "nvidia-driver: not held"]
changed_files:
  description: The files written or changed (in check mode, that would be).
  type: list
  elements: str
  returned: always
version:
  description: The installed version of the first package O(version_of) matches; empty where none is installed.
  type: str
  returned: when O(version_of) is given
  sample: 535.247.01-1~deb12u1
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.files import describe_error, write_atomic


def file_differences(spec: dict) -> tuple[list[str], bytes | None]:
    """What differs about one file, and its current bytes (None where it is missing or not a file)."""
    path = spec["path"]
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return [f"{path}: missing"], None
    if not stat.S_ISREG(info.st_mode):
        return [f"{path}: not a regular file"], None
    found = []
    with open(path, "rb") as handle:
        current = handle.read()
    if current != spec["content"].encode():
        found.append(f"{path}: content differs")
    if stat.S_IMODE(info.st_mode) != int(spec["mode"], 8):
        found.append(f"{path}: mode {stat.S_IMODE(info.st_mode):04o}, not {spec['mode']}")
    if info.st_uid != pwd.getpwnam(spec["owner"]).pw_uid:
        found.append(f"{path}: owner is not {spec['owner']}")
    if info.st_gid != grp.getgrnam(spec["group"]).gr_gid:
        found.append(f"{path}: group is not {spec['group']}")
    return found, current


def put_file(module: AnsibleModule, spec: dict, found: list[str]) -> None:
    path = spec["path"]
    if os.path.isdir(path) and not os.path.islink(path):
        module.fail_json(msg=f"{path} is a directory where the role writes a file; nothing was changed.")
    if any(d.endswith((": missing", ": content differs", ": not a regular file")) for d in found):
        write_atomic(module, path, spec["content"].encode(), spec["mode"], owner=spec["owner"], group=spec["group"])
        return
    file_args = module.load_file_common_arguments(
        {"path": path, "mode": spec["mode"], "owner": spec["owner"], "group": spec["group"]}
    )
    try:
        module.set_fs_attributes_if_different(file_args, False)
    except OSError as exc:
        module.fail_json(msg=f"{path}: mode or owner could not be set: {describe_error(path, exc)}")


def dpkg_status(module: AnsibleModule, patterns: list[str]) -> list[tuple[str, str, str]]:
    """(package, db:Status-Abbrev, version) for each package the patterns match; none for unknown names."""
    if not patterns:
        return []
    # db:Status-Abbrev: the wanted state (h = hold), then the current one (i = installed). Unknown names make
    # dpkg-query exit 1 and are simply not listed.
    rc, out, err = module.run_command(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev} ${Version}\n", *patterns]
    )
    if rc not in (0, 1):
        module.fail_json(msg=f"dpkg-query failed: {err.strip()}")
    rows = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:
            rows.append((fields[0].split(":")[0], fields[1], fields[2]))
        elif len(fields) == 2:
            rows.append((fields[0].split(":")[0], fields[1], ""))
    return rows


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
            "version_of": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    enforce = not module.check_mode

    found, changed_files, diffs = [], [], []
    for spec in params["files"]:
        differences, current = file_differences(spec)
        if not differences:
            continue
        found += differences
        changed_files.append(spec["path"])
        if module._diff and current != spec["content"].encode():
            diffs.append(
                {
                    "before_header": spec["path"],
                    "after_header": spec["path"],
                    "before": (current or b"").decode(errors="replace"),
                    "after": spec["content"],
                }
            )
        if enforce:
            put_file(module, spec, differences)

    installed, held = params["packages_installed"], params["packages_held"]
    status = {name: abbrev for name, abbrev, _version in dpkg_status(module, sorted(set(installed) | set(held)))}
    missing = [name for name in dict.fromkeys(installed + held) if status.get(name, "  ")[1:2] != "i"]
    unheld = [name for name in held if status.get(name, "  ")[:1] != "h"]
    found += [f"{name}: not installed" for name in missing]
    found += [f"{name}: not held" for name in unheld]
    if enforce and missing:
        module.fail_json(
            msg=f"Not installed: {', '.join(missing)} (apt installs them before this task); nothing else was held.",
            differences=found,
            changed_files=changed_files,
            changed=bool(changed_files),
        )
    if enforce and unheld:
        selections = "".join(f"{name} hold\n" for name in unheld)
        rc, _out, err = module.run_command(["dpkg", "--set-selections"], data=selections, binary_data=True)
        if rc != 0:
            module.fail_json(msg=f"dpkg --set-selections could not hold {', '.join(unheld)}: {err.strip()}")

    result = {
        "changed": bool(changed_files or unheld),
        "matches": not found,
        "differences": found,
        "changed_files": changed_files,
    }
    if params["version_of"]:
        rows = dpkg_status(module, [params["version_of"]])
        result["version"] = next((version for _name, abbrev, version in rows if abbrev[1:2] == "i"), "")
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()

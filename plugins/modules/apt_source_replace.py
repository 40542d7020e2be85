#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_source_replace
short_description: Set aside other apt source files for a repository this collection configures itself
description:
  - Docker's and NVIDIA's install guides leave C(/etc/apt/sources.list.d/docker.list) and
    C(nvidia-container-toolkit.list) with keyrings of their own (C(/etc/apt/keyrings/docker.asc),
    C(/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg)). Beside this collection's deb822 source for the same
    repository apt refuses to read any source ("Conflicting values set for option Signed-By").
  - Every source file other than O(keep) with an entry for one of O(uris) is renamed to C(FILE.gpuhost.disabled),
    which apt skips silently (C(Dir::Ignore-Files-Silently) matches C(\.disabled$)); its keyring is renamed the same
    way when no remaining source names it. Both stay on disk for a person to read or restore.
  - A file that also lists other repositories (C(/etc/apt/sources.list) edited by hand, say) is not edited; the task
    fails naming the file and line.
  - C($(ARCH)) in a URI (NVIDIA's flat list) is expanded with the host's dpkg architecture before comparing.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  uris:
    description: The repository URIs this collection's source names.
    type: list
    elements: str
    required: true
  keep:
    description: This collection's own source file for them, left alone.
    type: path
    required: true
  keep_keyring:
    description: This collection's own keyring for them, never set aside even if another file names it.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Docker's install-guide source does not conflict with ours
  gpuhost.provision.apt_source_replace:
    uris:
      - https://download.docker.com/linux/ubuntu
    keep: /etc/apt/sources.list.d/docker.sources
    keep_keyring: /etc/apt/keyrings/docker.gpg
"""

RETURN = r"""
disabled:
  description: Source files set aside, with the name each has now.
  type: dict
  returned: always
  sample: {"/etc/apt/sources.list.d/docker.list": "/etc/apt/sources.list.d/docker.list.gpuhost.disabled"}
keyrings:
  description: Keyrings set aside (no remaining source named them), with the name each has now.
  type: dict
  returned: always
  sample: {"/etc/apt/keyrings/docker.asc": "/etc/apt/keyrings/docker.asc.gpuhost.disabled"}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.apt_ready import source_files
from ansible_collections.gpuhost.provision.plugins.module_utils.apt_sources import (
    DISABLED_SUFFIX,
    conflicting_files,
    keyrings_still_used,
)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def main():
    module = AnsibleModule(
        argument_spec={
            "uris": {"type": "list", "elements": "str", "required": True},
            "keep": {"type": "path", "required": True},
            "keep_keyring": {"type": "path"},
        },
        supports_check_mode=True,
    )
    rc, arch, err = module.run_command(["dpkg", "--print-architecture"])
    if rc != 0:
        module.fail_json(msg=f"dpkg --print-architecture failed: {err.strip()}")
    sources = {path: read(path) for path in source_files()}
    found = conflicting_files(sources, module.params["uris"], module.params["keep"], arch.strip())
    result = {"changed": False, "disabled": {}, "keyrings": {}}
    mixed = {path: info for path, info in found.items() if not info["whole"]}
    if mixed:
        named = "; ".join(
            f"{path} line {', '.join(map(str, info['lines']))} ({info['uri']})" for path, info in mixed.items()
        )
        module.fail_json(
            msg=f"{named} also configures {', '.join(module.params['uris'])}, which gpuhost configures in "
            f"{module.params['keep']}; with both, apt refuses every source (\"Conflicting values set for option "
            "Signed-By\"). That file lists other repositories too, so gpuhost does not edit it: delete or comment "
            "out that line, then run again.",
            **result,
        )
    for path in found:
        result["disabled"][path] = path + DISABLED_SUFFIX
    still_used = keyrings_still_used(sources, set(found))
    for keyring in sorted({k for info in found.values() for k in info["keyrings"]}):
        if keyring in still_used or keyring == module.params["keep_keyring"] or not os.path.isfile(keyring):
            continue
        result["keyrings"][keyring] = keyring + DISABLED_SUFFIX
    if not result["disabled"]:
        module.exit_json(**result)
    result["changed"] = True
    for old, new in list(result["disabled"].items()) + list(result["keyrings"].items()):
        module.warn(f"{old} (left by another tool, e.g. an install guide) conflicts with gpuhost's: renamed to {new}")
        if not module.check_mode:
            try:
                os.replace(old, new)
            except OSError as exc:
                module.fail_json(msg=f"{old} could not be renamed to {new}: {exc.strerror}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

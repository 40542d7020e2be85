#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_daemon_json
short_description: Merge settings into Docker's daemon.json without losing the keys already there
description:
  - Reads O(path), merges O(settings) into it and writes the result only when it differs.
  - Objects are merged key by key, a scalar from O(settings) replaces the current one, and lists are
    unioned (current items first), so keys and list items a user set by hand survive. A top-level key named
    in O(replace) takes its value from O(settings) whole, so a list can also shrink.
  - O(defaults) are written only where the file has no value of its own, so a user's value wins, key by key.
  - A O(path) that is a symbolic link stays one; the file it points to is updated.
  - Backups are bounded (O(backup_keep)); a failed write (a full disk) leaves no temporary file behind and
    names the file and the cause.
  - A file that is not valid JSON, or not a JSON object, fails the task and is left byte for byte as it was.
  - The parent directory is created when missing, so the file can be written before Docker is installed.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description: Keys to merge into the file.
    type: dict
    default: {}
  defaults:
    description:
      - Keys written only where the file has none; objects are filled in key by key, so a hand-set
        C(log-opts.max-size) stays and a missing C(max-file) is added.
      - The C(log-opts) of O(defaults) are left out where the file names another C(log-driver) than
        O(defaults) does (dockerd refuses options its log driver does not know).
    type: dict
    default: {}
  replace:
    description:
      - Top-level keys of O(settings) whose value replaces the current one whole instead of being merged,
        e.g. C([registry-mirrors]) to drop a mirror no longer listed.
    type: list
    elements: str
    default: []
  remove_matching:
    description:
      - "Top-level keys to remove when, and only when, their current value equals the value given here:
        C({'default-runtime': 'nvidia'}) removes that key but keeps a user's own default runtime."
    type: dict
    default: {}
  backup:
    description: Keep a timestamped copy of the file before changing it.
    type: bool
    default: true
  backup_keep:
    description: How many of those copies to keep, newest first; older ones are removed. V(0) keeps them all.
    type: int
    default: 3
  mode:
    description: Permissions of a file this module creates.
    type: raw
    default: "0644"
  validate:
    description:
      - A command that checks the merged configuration before it is written, V(%s) standing for a temporary
        file that holds it, e.g. V(dockerd --validate --config-file %s) (Docker 23+). A non-zero exit fails the
        task with the command's own words and leaves O(path) as it was. Not run in check mode.
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
- name: Docker rotates its logs unless the file already says otherwise
  gpuhost.provision.docker_daemon_json:
    defaults:
      log-driver: json-file
      log-opts:
        max-size: 100m

- name: Docker pulls through exactly these mirrors (an old one is dropped)
  gpuhost.provision.docker_daemon_json:
    settings:
      registry-mirrors:
        - https://mirror.example.internal
    replace:
      - registry-mirrors

- name: The nvidia runtime is registered with Docker
  gpuhost.provision.docker_daemon_json:
    settings:
      runtimes:
        nvidia:
          path: nvidia-container-runtime
          args: []
"""

RETURN = r"""
config:
  description: The configuration as it stands after the task (as it would, in check mode).
  type: dict
  returned: success
  sample: {"log-driver": "json-file", "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}
path:
  description: The file read and written; the target where O(path) is a symbolic link.
  type: str
  returned: success
  sample: /etc/docker/daemon.json
changed_keys:
  description:
    - The top-level keys whose value changed (or would, in check mode), e.g. to tell a change dockerd takes on a
      reload (C(runtimes), C(default-runtime)) from one that needs a restart.
  type: list
  elements: str
  returned: success
  sample: ["runtimes"]
validated:
  description: Whether O(validate) ran on the merged configuration, and accepted it.
  type: bool
  returned: always
  sample: true
backup_file:
  description: The copy of the previous file (beside it; only the newest O(backup_keep) are kept).
  type: str
  returned: changed and a previous file existed and O(backup=true)
  sample: /etc/docker/daemon.json.12345.2026-11-24@10:00:00~
"""

import os
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import (
    DaemonJsonError,
    apply,
    parse,
    render,
    would_change,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.files import backup, write_atomic


def refused_by(module, command: str, text: str) -> str | None:
    """Run the validate command on text in a temporary file; its words if it refused, else None."""
    words = shlex.split(command)
    if not any("%s" in word for word in words):
        module.fail_json(msg=f"validate: {command!r} has no %s for the file to check")
    handle, candidate = tempfile.mkstemp(suffix=".daemon.json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        rc, stdout, stderr = module.run_command([word.replace("%s", candidate) for word in words])
    finally:
        os.unlink(candidate)
    return None if rc == 0 else (stderr or stdout).strip().replace(candidate, "the merged file") or f"exit {rc}"


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/docker/daemon.json"},
            "settings": {"type": "dict", "default": {}},
            "defaults": {"type": "dict", "default": {}},
            "replace": {"type": "list", "elements": "str", "default": []},
            "remove_matching": {"type": "dict", "default": {}},
            "backup": {"type": "bool", "default": True},
            "backup_keep": {"type": "int", "default": 3},
            "mode": {"type": "raw", "default": "0644"},
            "validate": {"type": "str"},
        },
        supports_check_mode=True,
    )
    # A daemon.json that is a symlink (to a config repository, say) stays one: its target is what is changed.
    # os.rename onto the link itself would replace the link with a regular file.
    path = os.path.realpath(module.params["path"]) if os.path.islink(module.params["path"]) else module.params["path"]
    exists = os.path.exists(path)
    before_text = ""
    if exists:
        try:
            with open(path, encoding="utf-8") as handle:
                before_text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            module.fail_json(msg=f"{path} could not be read: {exc}; it was left unchanged")
    try:
        current = parse(before_text, path)
    except DaemonJsonError as exc:
        module.fail_json(msg=str(exc))

    p = module.params
    config = apply(current, p["settings"], p["defaults"], p["replace"], p["remove_matching"])
    changed = would_change(current, config, exists)
    missing = object()
    changed_keys = sorted(key for key in {*current, *config} if current.get(key, missing) != config.get(key, missing))
    result = {"changed": changed, "config": config, "path": path, "changed_keys": changed_keys, "validated": False}
    if not changed:
        module.exit_json(**result)

    after_text = render(config)
    result["diff"] = {"before": before_text, "after": after_text, "before_header": path, "after_header": path}
    if module.check_mode:
        module.exit_json(**result)

    # A config dockerd refuses would stop Docker at its next (re)start: checked before anything is written.
    if p["validate"]:
        refusal = refused_by(module, p["validate"], after_text)
        if refusal is not None:
            module.fail_json(
                msg=f"`{p['validate']}` refused the merged {path} ({refusal}); {path} was left unchanged: fix "
                "the key it names by hand.",
                **result,
            )
        result["validated"] = True
    if exists and module.params["backup"]:
        result["backup_file"] = backup(module, path, module.params["backup_keep"])
    # A file the user already has keeps its owner and permissions.
    write_atomic(module, path, after_text.encode("utf-8"), None if exists else module.params["mode"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()

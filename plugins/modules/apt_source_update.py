#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_source_update
short_description: Refresh apt's index for one source, and say plainly why apt refused it
description:
  - Runs C(apt-get update) for the one deb822 source file O(source), leaving the other lists alone, as
    needed right after a source is added or its key rotated.
  - Given O(content), first makes O(source) hold exactly that (mode 0644, owned by root), and refreshes the
    index only when it had to write it or O(refresh) is true, so that the source and its index take one module run.
  - A repository whose signature apt rejects (NO_PUBKEY, not signed, expired or bad signature) fails at once
    with the URL and apt's own words; network errors are tried again O(retries) times, then fail the same way.
  - apt also reports some failures only as warnings with exit status 0; those fail the task too.
  - "apt's update stamp (C(/var/lib/apt/periodic/update-success-stamp), which C(cache_valid_time) reads) and
    the lists directory's time are put back as they were: one source was refreshed, not the index, so the
    next full refresh must not be skipped as fresh."
  - Waits up to O(lock_timeout) seconds for apt's and dpkg's locks (C(-o DPkg::Lock::Timeout)).
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  source:
    description: The deb822 source file, e.g. C(/etc/apt/sources.list.d/docker.sources).
    type: path
    required: true
  content:
    description:
      - The source file's whole content. Without it the file is read as it is and its index always refreshed.
    type: str
  refresh:
    description:
      - With O(content), refresh the index even though the file already holds it (the key it names was rotated).
    type: bool
    default: false
  retries:
    description: Further tries after a failure that is not a signature problem.
    type: int
    default: 2
  delay:
    description: Seconds between tries.
    type: int
    default: 5
  lock_timeout:
    description: Seconds apt waits for a lock another apt or dpkg holds.
    type: int
    default: 600
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

EXAMPLES = r"""
- name: The apt index includes Docker's repository
  gpuhost.provision.apt_source_update:
    source: /etc/apt/sources.list.d/docker.sources

- name: Docker's repository is this deb822 source, in apt's index
  gpuhost.provision.apt_source_update:
    source: /etc/apt/sources.list.d/docker.sources
    content: |
      Types: deb
      URIs: https://download.docker.com/linux/ubuntu
      Suites: noble
      Components: stable
      Signed-By: /etc/apt/keyrings/docker.gpg
    refresh: "{{ docker_key is changed }}"
"""

RETURN = r"""
stdout_lines:
  description: What apt-get update printed on its last try.
  type: list
  elements: str
  returned: when apt-get ran
written:
  description: Whether O(source) was (or, in check mode, would be) written with O(content).
  type: bool
  returned: always
  sample: false
tries:
  description: How many times apt-get update ran.
  type: int
  returned: always
  sample: 1
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.apt_update import (
    command,
    is_signature_problem,
    problems,
    uris,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.files import write_atomic

# What ansible.builtin.apt's cache_valid_time reads: the stamp apt's update hook touches, else the lists dir.
STAMP = "/var/lib/apt/periodic/update-success-stamp"
LISTS = "/var/lib/apt/lists"


def index_times():
    """(path, (atime, mtime) or None) for the stamp and the lists directory."""
    return [
        (path, (os.stat(path).st_atime, os.stat(path).st_mtime) if os.path.exists(path) else None)
        for path in (STAMP, LISTS)
    ]


def restore_index_times(saved):
    """Put the index's age back: a single-source refresh must not make the whole index look fresh."""
    for path, times in saved:
        try:
            if times is None:
                if path == STAMP and os.path.exists(path):
                    os.remove(path)
            else:
                os.utime(path, times)
        except OSError:
            pass


def differs(path: str, content: str) -> tuple[bool, str]:
    """(whether path lacks exactly content, mode 0644 or root ownership; its text now, '' if missing)."""
    try:
        with open(path, "rb") as handle:
            current = handle.read()
        info = os.stat(path)
    except FileNotFoundError:
        return True, ""
    text = current.decode("utf-8", "replace")
    return current != content.encode() or (info.st_mode & 0o7777, info.st_uid, info.st_gid) != (0o644, 0, 0), text


def main():
    module = AnsibleModule(
        argument_spec={
            "source": {"type": "path", "required": True},
            "content": {"type": "str"},
            "refresh": {"type": "bool", "default": False},
            "retries": {"type": "int", "default": 2},
            "delay": {"type": "int", "default": 5},
            "lock_timeout": {"type": "int", "default": 600},
        },
        supports_check_mode=True,
    )
    source = module.params["source"]
    content = module.params["content"]
    written, diff = False, {}
    if content is not None:
        written, before = differs(source, content)
        if written:
            diff = {"before": before, "after": content, "before_header": source, "after_header": source}
            if not module.check_mode:
                write_atomic(module, source, content.encode())
        elif not module.params["refresh"]:
            module.exit_json(changed=False, written=False, tries=0)
    # In check mode the source may be one a previous task only pretended to write.
    if module.check_mode:
        module.exit_json(changed=True, written=written, tries=0, diff=diff)
    try:
        with open(source, encoding="utf-8") as handle:
            where = ", ".join(uris(handle.read())) or source
    except OSError as exc:
        module.fail_json(msg=f"{source} could not be read: {exc}", tries=0)

    lines = []
    saved = index_times()
    for attempt in range(module.params["retries"] + 1):
        if attempt:
            time.sleep(module.params["delay"])
        rc, out, err = module.run_command(
            command(source, module.params["lock_timeout"]), environ_update={"LANG": "C", "LC_ALL": "C"}
        )
        restore_index_times(saved)
        lines = problems(out + "\n" + err)
        if rc == 0 and not lines:
            module.exit_json(changed=True, written=written, tries=attempt + 1, stdout_lines=out.splitlines(), diff=diff)
        if is_signature_problem(lines):
            module.fail_json(
                msg=f"apt refused the repository {where} ({source}): its signature does not verify against the "
                f"keyring it names. apt said: {' | '.join(lines)}",
                tries=attempt + 1,
                stdout_lines=out.splitlines(),
            )
    module.fail_json(
        msg=f"apt could not refresh {where} ({source}) after {module.params['retries'] + 1} tries. "
        f"apt said: {' | '.join(lines) or err.strip()}",
        tries=module.params["retries"] + 1,
        stdout_lines=out.splitlines(),
    )


if __name__ == "__main__":
    main()

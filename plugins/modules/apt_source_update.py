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
  - "Given O(key_url), O(key_fingerprint) and O(keyring), first puts the repository's signing key in place as
    M(gpuhost.provision.apt_signing_key) does (only the pinned key, nothing downloaded where O(keyring) holds it
    already), and refreshes the index when the key changed: a role's key and source take one module run."
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
  key_url:
    description:
      - Where the repository's signing key is published (ASCII-armored or binary), C(https://), C(http://) or
        C(file://) (a file on the managed host). Needs O(key_fingerprint) and O(keyring).
    type: str
    version_added: 0.2.0
  key_fingerprint:
    description: The primary key fingerprint O(key_url) must hold, spaces allowed.
    type: str
    version_added: 0.2.0
  keyring:
    description: The keyring file the source's C(Signed-By) names, written with the pinned key alone.
    type: path
    version_added: 0.2.0
  validate_certs:
    description: Check the key server's TLS certificate.
    type: bool
    default: true
    version_added: 0.2.0
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

- name: Docker's signing key and repository are this deb822 source, in apt's index (one module run)
  gpuhost.provision.apt_source_update:
    source: /etc/apt/sources.list.d/docker.sources
    content: |
      Types: deb
      URIs: https://download.docker.com/linux/ubuntu
      Suites: noble
      Components: stable
      Signed-By: /etc/apt/keyrings/docker.gpg
    key_url: https://download.docker.com/linux/ubuntu/gpg
    key_fingerprint: 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88
    keyring: /etc/apt/keyrings/docker.gpg
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
key_changed:
  description: Whether O(keyring) was (or, in check mode, would be) written.
  type: bool
  returned: with O(key_url)
  sample: false
  version_added: 0.2.0
fingerprints:
  description: Primary key fingerprints O(keyring) holds after the task (only the pinned one).
  type: list
  elements: str
  returned: with O(key_url)
  sample: ["9DC858229FC7DD38854AE2D88D81803C0EBFCD88"]
  version_added: 0.2.0
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
from ansible_collections.gpuhost.provision.plugins.module_utils.signing_key import put_keyring

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
            "key_url": {"type": "str", "no_log": False},
            "key_fingerprint": {"type": "str", "no_log": False},
            "keyring": {"type": "path"},
            "validate_certs": {"type": "bool", "default": True},
        },
        required_together=[("key_url", "key_fingerprint", "keyring")],
        supports_check_mode=True,
    )
    params = module.params
    source = params["source"]
    content = params["content"]
    # A rotated key makes the cached index stale whatever its age.
    refresh, diffs, extra = params["refresh"], [], {}
    if params["key_url"]:
        key = put_keyring(
            module,
            params["key_url"],
            params["key_fingerprint"],
            params["keyring"],
            retries=params["retries"],
            delay=params["delay"],
        )
        extra = {"key_changed": key["changed"], "fingerprints": key["fingerprints"]}
        refresh = refresh or key["changed"]
        if key["changed"]:
            diffs.append(key["diff"])
    written = False
    if content is not None:
        written, before = differs(source, content)
        if written:
            diffs.append({"before": before, "after": content, "before_header": source, "after_header": source})
            if not module.check_mode:
                write_atomic(module, source, content.encode())
        elif not refresh:
            module.exit_json(changed=False, written=False, tries=0, **extra)
    # The callback shows each of a list of diffs.
    diff = diffs[0] if len(diffs) == 1 else diffs
    # In check mode the source may be one a previous task only pretended to write.
    if module.check_mode:
        module.exit_json(changed=True, written=written, tries=0, diff=diff, **extra)
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
            module.exit_json(
                changed=True, written=written, tries=attempt + 1, stdout_lines=out.splitlines(), diff=diff, **extra
            )
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

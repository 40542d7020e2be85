#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_ready
short_description: Make apt usable before a role installs anything, or say plainly why it is not
description:
  - The steps every gpuhost role takes before its first apt operation, in one place.
  - "Waits for cloud-init to finish where it is installed (C(cloud-init status --wait)): on a fresh cloud
    VM it and unattended-upgrades/apt-daily hold apt's locks for minutes."
  - Waits up to O(lock_timeout) seconds for apt's and dpkg's locks; past that, fails naming the lock and
    the process holding it.
  - Finishes a dpkg run that was interrupted (a VM reset, a lost controller mid-install) with
    C(dpkg --configure -a), as apt itself asks for.
  - "Checks that apt can read every source file. One this collection wrote (it starts with
    C(# Managed by gpuhost.provision)) that apt cannot read is removed, because its role writes it again;
    another tool's fails the task naming the file and what to do."
  - Refreshes the apt index when it is older than O(cache_valid_time). A source of another tool that
    fails to refresh (unreachable, unsigned) fails the task naming its file; one of this collection's only
    warns, because its role refreshes it again.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  lock_timeout:
    description: Seconds to wait for cloud-init and for apt's and dpkg's locks.
    type: int
    default: 600
  cloud_init:
    description: Wait for cloud-init to finish where it is installed.
    type: bool
    default: true
  update_cache:
    description: Refresh the apt index when it is older than O(cache_valid_time).
    type: bool
    default: true
  cache_valid_time:
    description: Seconds an apt index stays fresh.
    type: int
    default: 3600
  retries:
    description: Further tries of a refresh that failed.
    type: int
    default: 2
  delay:
    description: Seconds between refresh tries.
    type: int
    default: 5
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Waits and reads as usual; reports dpkg's repair and a source's removal without doing them.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Wait for locks the way apt does, C(-o DPkg::Lock::Timeout) (apt 1.9.11+, apt-get(8)); a lock taken
    again between this task and the next apt call is waited for by that call's own lock timeout.
"""

EXAMPLES = r"""
- name: apt is ready (cloud-init finished, locks free, dpkg consistent, sources readable)
  gpuhost.provision.apt_ready:
    lock_timeout: "{{ docker_apt_lock_timeout }}"
    cache_valid_time: "{{ docker_apt_cache_valid_time }}"
"""

RETURN = r"""
waited:
  description: Seconds spent waiting for cloud-init and the locks.
  type: int
  returned: always
  sample: 42
dpkg_configured:
  description: Whether an interrupted dpkg run was finished (or would be, in check mode).
  type: bool
  returned: always
  sample: false
removed_sources:
  description: This collection's own source files apt could not read, removed for their roles to rewrite.
  type: list
  elements: str
  returned: always
  sample: []
cache_updated:
  description: Whether the apt index was refreshed.
  type: bool
  returned: always
  sample: true
ansible_facts:
  description: C(gpuhost_apt_ready=true), so that later roles in the same run skip their own check.
  type: dict
  returned: always
  sample: {"gpuhost_apt_ready": true}
"""

import errno
import fcntl
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.apt_ready import (
    DPKG_UPDATES,
    LOCKS,
    describe_process,
    dpkg_interrupted,
    files_for_problems,
    is_managed,
    lock_holders,
    source_files,
    source_uris,
    unreadable_source_files,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.apt_update import problems

C_LOCALE = {"LANG": "C", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
# The stamp apt's update hook touches (/etc/apt/apt.conf.d/15update-stamp) and ansible.builtin.apt reads.
STAMP = "/var/lib/apt/periodic/update-success-stamp"
LISTS = "/var/lib/apt/lists"


def read(path, mode="r"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except OSError:
        return None


def held_locks():
    """The lock files some process holds now (tested as apt tests them: a non-blocking fcntl lock)."""
    held = []
    for path in LOCKS:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue  # absent: nobody holds it
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                held.append(path)
        finally:
            os.close(fd)
    return held


def holders_text(paths):
    inodes = {}
    for path in paths:
        try:
            inodes[os.stat(path).st_ino] = path
        except OSError:
            pass
    holders = lock_holders(read("/proc/locks") or "", inodes)
    parts = []
    for path in paths:
        pids = holders.get(path) or []
        who = ", ".join(describe_process(pid, read(f"/proc/{pid}/cmdline", "rb")) for pid in pids)
        parts.append(f"{path} by {who or 'an unknown process'}")
    return "; ".join(parts)


def wait_for_cloud_init(module, deadline):
    binary = module.get_bin_path("cloud-init")
    if not module.params["cloud_init"] or not binary:
        return
    remaining = max(1, int(deadline - time.time()))
    rc, out, err = module.run_command(["timeout", str(remaining), binary, "status", "--wait"], environ_update=C_LOCALE)
    if rc == 124:
        module.fail_json(
            msg=f"cloud-init was still running after {module.params['lock_timeout']} s (`cloud-init status` says: "
            f"{out.strip().splitlines()[-1] if out.strip() else 'running'}). It installs packages on a fresh VM; "
            "wait for it, or raise the role's apt lock timeout."
        )
    # 0: done; 2: done with recoverable errors (cloud-init 23.4+); 1: cloud-init failed, the host may still work.
    if rc not in (0, 2):
        module.warn(f"cloud-init reports an error (status --wait exited {rc}): {(out + err).strip()[-300:]}")


def wait_for_locks(module, deadline):
    while True:
        held = held_locks()
        if not held:
            return
        if time.time() >= deadline:
            module.fail_json(
                msg=f"apt's locks were still held after {module.params['lock_timeout']} s: {holders_text(held)}. "
                "On a fresh VM unattended-upgrades or apt-daily can hold them for many minutes: wait for that "
                "process to finish (or stop it), or raise the role's apt lock timeout.",
                held=held,
            )
        time.sleep(2)


def finish_interrupted_dpkg(module, result):
    entries = os.listdir(DPKG_UPDATES) if os.path.isdir(DPKG_UPDATES) else []
    rc, audit, _err = module.run_command(["dpkg", "--audit"], environ_update=C_LOCALE)
    if not dpkg_interrupted(entries, audit):
        return
    result["dpkg_configured"] = True
    result["changed"] = True
    if module.check_mode:
        return
    rc, out, err = module.run_command(
        ["dpkg", "--configure", "-a", "--force-confdef", "--force-confold"], environ_update=C_LOCALE
    )
    if rc != 0:
        module.fail_json(
            msg=f"dpkg was interrupted on this host and `dpkg --configure -a` could not finish it (exit {rc}): "
            f"{(out + err).strip()[-1500:]}. Fix the package it names, then run again.",
            **result,
        )


def check_sources(module, result):
    cmd = ["apt-cache", "policy"]
    rc, out, err = module.run_command(cmd, environ_update=C_LOCALE)
    if rc == 0:
        return
    files = unreadable_source_files(out + "\n" + err)
    foreign = [path for path in files if not is_managed(read(path) or "")]
    if foreign or not files:
        said = " | ".join(problems(out + "\n" + err)) or err.strip()
        module.fail_json(
            msg=f"apt cannot read the apt source {', '.join(foreign) or 'files'} (not written by gpuhost), so no "
            f"package can be installed. apt said: {said}. Fix that file, or move it out of "
            "/etc/apt/sources.list.d (e.g. to /root/) to disable it, then run again.",
            **result,
        )
    for path in files:
        module.warn(f"apt could not read {path}, which gpuhost wrote earlier: removed; its role writes it again.")
        result["removed_sources"].append(path)
        result["changed"] = True
        if not module.check_mode:
            os.remove(path)
    if not module.check_mode:
        rc, out, err = module.run_command(cmd, environ_update=C_LOCALE)
        if rc != 0:
            module.fail_json(msg=f"apt still cannot read its sources: {(out + err).strip()[-1500:]}", **result)


def cache_age():
    for path in (STAMP, LISTS):
        if os.path.exists(path):
            return time.time() - os.stat(path).st_mtime
    return float("inf")


def refresh(module, result, deadline):
    if not module.params["update_cache"] or module.check_mode or cache_age() < module.params["cache_valid_time"]:
        return
    lock = max(1, int(deadline - time.time()))
    sources = {path: read(path) or "" for path in source_files()}
    lines = []
    for attempt in range(module.params["retries"] + 1):
        if attempt:
            time.sleep(module.params["delay"])
        rc, out, err = module.run_command(
            ["apt-get", "update", "-o", f"DPkg::Lock::Timeout={lock}"], environ_update=C_LOCALE
        )
        lines = [line for line in problems(out + "\n" + err) if not line.startswith("W: Some index files")]
        if rc == 0 and not lines:
            result["cache_updated"] = True
            return
    by_file = files_for_problems(lines, sources)
    foreign = {path: said for path, said in by_file.items() if not is_managed(sources[path])}
    for path in by_file:
        if path not in foreign:
            module.warn(f"apt could not refresh {path}, which gpuhost wrote; its role refreshes it again.")
    unexplained = [line for line in lines if not any(line in said for said in by_file.values())]
    if foreign:
        named = "; ".join(
            f"{path} ({', '.join(source_uris(path, sources[path]))}): {' | '.join(said)}"
            for path, said in foreign.items()
        )
        module.fail_json(
            msg=f"apt could not refresh a source gpuhost did not write: {named}. Another tool (or a person) added "
            "it; gpuhost's own repositories are fine. Fix that source, or move its file out of "
            "/etc/apt/sources.list.d (e.g. to /root/) to disable it, then run again.",
            **result,
        )
    if unexplained and rc != 0:
        module.fail_json(msg=f"apt-get update failed (exit {rc}): {' | '.join(unexplained) or err.strip()}", **result)
    result["cache_updated"] = True


def main():
    module = AnsibleModule(
        argument_spec={
            "lock_timeout": {"type": "int", "default": 600},
            "cloud_init": {"type": "bool", "default": True},
            "update_cache": {"type": "bool", "default": True},
            "cache_valid_time": {"type": "int", "default": 3600},
            "retries": {"type": "int", "default": 2},
            "delay": {"type": "int", "default": 5},
        },
        supports_check_mode=True,
    )
    started = time.time()
    deadline = started + module.params["lock_timeout"]
    result = {"changed": False, "dpkg_configured": False, "removed_sources": [], "cache_updated": False}
    wait_for_cloud_init(module, deadline)
    wait_for_locks(module, deadline)
    result["waited"] = int(time.time() - started)
    finish_interrupted_dpkg(module, result)
    check_sources(module, result)
    refresh(module, result, deadline)
    # The roles after the first in a run need not ask again: nothing between them leaves apt unready.
    result["ansible_facts"] = {"gpuhost_apt_ready": True}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: ubuntu_drivers
short_description: Install one NVIDIA driver branch with Canonical's ubuntu-drivers, and check that it did
description:
  - Asks C(ubuntu-drivers list [--gpgpu] --include-dkms) which driver and kernel module package it would
    install for the branch on this host's GPUs and newest kernel, and reads C(dpkg-query) for whether they
    are installed. Nothing to install reports C(changed=false); no English text is matched.
  - Otherwise runs C(ubuntu-drivers install [--gpgpu] nvidia:BRANCH) and reads dpkg again. ubuntu-drivers
    exits 0 even when its C(apt-get install) failed (a held dpkg lock, a broken dependency) or when it
    installed nothing because the kernel needs C(--include-dkms); this module fails then, naming the
    packages that are missing, what apt said and who holds apt's locks.
  - Fails before installing anything when the branch is not offered for these GPUs, or when the newest
    kernel has no prebuilt module and O(include_dkms) is false.
version_added: 0.2.0
author: gpuhost contributors (@gpuhost)
options:
  branch:
    description: Driver branch (flavour), e.g. V(580-server), V(580-server-open), V(nvidia:570-server).
    type: str
    required: true
  gpgpu:
    description: Headless compute driver (C(--gpgpu)) instead of the desktop one.
    type: bool
    default: true
  include_dkms:
    description: Allow C(nvidia-dkms-BRANCH) when Canonical ships no prebuilt module for the kernel.
    type: bool
    default: false
  sys_dir:
    description:
      - Where ubuntu-drivers reads the PCI devices (its C(UBUNTU_DRIVERS_SYS_DIR)); V(/sys) on real hosts.
        Tests point it at a fake sysfs.
    type: path
    default: /sys
  lock_timeout:
    description: Seconds the C(apt-get) ubuntu-drivers runs waits for dpkg's lock (C(DPkg::Lock::Timeout)).
    type: int
    default: 60
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reports the packages the install would add (RV(would_install)) without running it.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Requires ubuntu-drivers-common 0.9.6 or later (Ubuntu 22.04, 24.04).
"""

EXAMPLES = r"""
- name: The R580 server driver with open kernel modules is installed
  gpuhost.provision.ubuntu_drivers:
    branch: 580-server-open
"""

RETURN = r"""
branch:
  description: The branch, without C(nvidia:).
  type: str
  returned: always
  sample: 580-server-open
packages:
  description: What ubuntu-drivers installs for the branch (userspace metapackage, kernel module package).
  type: list
  elements: str
  returned: success
  sample: [nvidia-headless-no-dkms-580-server-open, linux-modules-nvidia-580-server-open-azure]
modules_package:
  description: The kernel module package ubuntu-drivers picked for the newest installed kernel.
  type: str
  returned: success
  sample: linux-modules-nvidia-580-server-open-azure
dkms:
  description: Whether that is a DKMS package (built on the host) rather than Canonical's prebuilt module.
  type: bool
  returned: success
  sample: false
would_install:
  description: The packages of RV(packages) that were not installed before.
  type: list
  elements: str
  returned: success
  sample: [nvidia-headless-no-dkms-580-server-open, linux-modules-nvidia-580-server-open-azure]
version:
  description: The userspace metapackage's installed version (after the install; the candidate in check mode).
  type: str
  returned: success
  sample: 580.95.05-0ubuntu0.24.04.1
offered:
  description: What C(ubuntu-drivers list) offered for this host, one entry per driver package.
  type: list
  elements: dict
  returned: always
  sample: [{"package": "nvidia-driver-580-server-open", "modules": "linux-modules-nvidia-580-server-open-azure"}]
command:
  description: The install command that ran, or would run in check mode (empty when nothing had to be installed).
  type: list
  elements: str
  returned: always
  sample: [ubuntu-drivers, install, --gpgpu, "nvidia:580-server-open"]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.apt_ready import describe_process, lock_holders
from ansible_collections.gpuhost.provision.plugins.module_utils.ubuntu_drivers import (
    PlanError,
    install_argv,
    normalize_branch,
    parse_dpkg_status,
    parse_list,
    plan,
    version_key,
)

C_LOCALE = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"}
LOCKS = ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/cache/apt/archives/lock")


def read(path, mode="r"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except OSError:
        return None


def lock_holders_text():
    """'/var/lib/dpkg/lock-frontend by process 123 (/usr/bin/python3 /usr/bin/unattended-upgrade)', or ''."""
    inodes = {}
    for path in LOCKS:
        try:
            inodes[os.stat(path).st_ino] = path
        except OSError:
            pass
    held = lock_holders(read("/proc/locks") or "", inodes)
    return "; ".join(
        f"{path} by {', '.join(describe_process(pid, read(f'/proc/{pid}/cmdline', 'rb')) for pid in pids)}"
        for path, pids in held.items()
    )


def dpkg_state(module, names):
    rc, out, _err = module.run_command(
        ["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Version}\n", *names], environ_update=C_LOCALE
    )
    # rc 1: some name is unknown to dpkg (never installed); the others are still listed.
    return parse_dpkg_status(out)


def newest_kernel(module):
    rc, out, _err = module.run_command(
        ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package}\n", "linux-image-[0-9]*"], environ_update=C_LOCALE
    )
    names = [line.split()[1] for line in out.splitlines() if line.startswith("ii") and len(line.split()) == 2]
    versions = sorted((n.removeprefix("linux-image-") for n in names), key=version_key)
    return f"kernel {versions[-1]}" if versions else "the installed kernel"


def apt_errors(text):
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(("E:", "W:", "dpkg:"))]
    return " | ".join(lines[-6:])


def main():
    module = AnsibleModule(
        argument_spec={
            "branch": {"type": "str", "required": True},
            "gpgpu": {"type": "bool", "default": True},
            "include_dkms": {"type": "bool", "default": False},
            "sys_dir": {"type": "path", "default": "/sys"},
            "lock_timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        branch = normalize_branch(params["branch"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": False, "branch": branch, "offered": [], "command": []}
    tool = module.get_bin_path("ubuntu-drivers")
    if tool is None:
        module.fail_json(msg="ubuntu-drivers is not installed: install ubuntu-drivers-common first", **result)
    env = dict(C_LOCALE)
    if params["sys_dir"] != "/sys":
        env["UBUNTU_DRIVERS_SYS_DIR"] = params["sys_dir"]

    list_argv = [tool, "list", *(["--gpgpu"] if params["gpgpu"] else []), "--include-dkms"]
    rc, out, err = module.run_command(list_argv, environ_update=env)
    if rc != 0:
        module.fail_json(msg=f"'{' '.join(list_argv)}' failed (exit {rc}): {(err or out).strip()[-800:]}", **result)
    result["offered"] = parse_list(out)
    try:
        chosen = plan(result["offered"], branch, params["gpgpu"], params["include_dkms"], newest_kernel(module))
    except PlanError as exc:
        module.fail_json(msg=str(exc), **result)
    result.update(packages=chosen["packages"], modules_package=chosen["modules"], dkms=chosen["dkms"])

    before = dpkg_state(module, chosen["packages"])
    missing = [p for p in chosen["packages"] if not before.get(p, {}).get("installed")]
    result["would_install"] = missing
    result["version"] = before.get(chosen["userspace"], {}).get("version") or None
    if not missing:
        module.exit_json(**result)
    result["changed"] = True
    argv = install_argv(branch, params["gpgpu"], chosen["dkms"])
    result["command"] = argv
    if module.check_mode:
        module.exit_json(**result)
    argv = [tool, *argv[1:]]
    # ubuntu-drivers' apt-get reads APT_CONFIG: wait for dpkg's lock a while instead of failing at once.
    with tempfile.NamedTemporaryFile("w", prefix="gpuhost-apt-", suffix=".conf", delete=False) as conf:
        conf.write(f'DPkg::Lock::Timeout "{params["lock_timeout"]}";\n')
    try:
        rc, out, err = module.run_command(
            argv, environ_update={**env, "APT_CONFIG": conf.name, "DEBIAN_FRONTEND": "noninteractive"}
        )
    finally:
        os.unlink(conf.name)
    result.update(rc=rc, stdout=out, stderr=err)
    after = dpkg_state(module, chosen["packages"])
    still = [p for p in chosen["packages"] if not after.get(p, {}).get("installed")]
    if still:
        holders = lock_holders_text()
        module.fail_json(
            msg=(
                f"'{' '.join(argv)}' exited {rc} but {', '.join(still)} is not installed (dpkg says "
                f"{', '.join(after.get(p, {}).get('status', 'not known') for p in still)}); nothing was held and "
                "the host was not rebooted. "
                + (
                    f"apt's locks are held: {holders}: wait for that process (unattended-upgrades?) to finish, or "
                    "stop it, then rerun. "
                    if holders
                    else ""
                )
                + (f"apt said: {apt_errors(out + err)}. " if apt_errors(out + err) else "")
                + "Fix what apt reports (`apt-get -f install`, `dpkg --configure -a`) and rerun."
            ),
            **result,
        )
    result["version"] = after.get(chosen["userspace"], {}).get("version")
    module.exit_json(**result)


if __name__ == "__main__":
    main()

"""nvidia_driver's Ubuntu path on the Ubuntu stand-in: Canonical's real ubuntu-drivers decides, dpkg proves.

The host (tools/sandbox_image.py --suite noble-standin / jammy-standin) is Debian underneath, labelled
Ubuntu, with Canonical's ubuntu-drivers-common, a fake PCI bus (A100 PCIe + RTX A4000, both Ampere) and a
signed stand-in archive (tests/fixtures/ubuntu_archive). Every failure case must stop the play with its
message before anything is installed, held or rebooted.
"""

from __future__ import annotations

import json
import re

import pytest

SYS = "UBUNTU_DRIVERS_SYS_DIR=/opt/gpuhost-standin/sys"
BRANCH = "580-server-open"  # the role's policy for two Ampere GPUs: R580 server, open kernel modules
FACT = "/etc/ansible/facts.d/gpuhost_nvidia_driver.fact"


def installed(host, pattern="*nvidia*"):
    out = host.check_output(f"dpkg-query -W -f '${{db:Status-Abbrev}} ${{Package}}\\n' '{pattern}' || true")
    return {line.split()[1]: line.split()[0] for line in out.splitlines() if line[:2] in ("ii", "hi")}


def offered(host):
    """What Canonical's tool lists for this host: {driver package: kernel module package}."""
    out = host.check_output(f"{SYS} ubuntu-drivers list --gpgpu --include-dkms")
    return dict(re.findall(r"^(\S+), \(kernel modules provided by (\S+)\)$", out, re.M))


def scenario_vars(host):
    return host.ansible.get_variables()


def test_host_is_a_labelled_ubuntu_standin(host):
    assert host.system_info.distribution == "ubuntu"
    assert "STAND-IN" in host.file("/etc/gpuhost-standin").content_string
    assert host.exists("ubuntu-drivers")


def test_converge_installed_exactly_what_ubuntu_drivers_picks_plus_nvidia_utils(host):
    modules = offered(host)[f"nvidia-driver-{BRANCH}"]
    assert modules == f"linux-modules-nvidia-{BRANCH}-" + scenario_vars(host)["gpuhost_test_kernel"].removeprefix(
        "linux-image-"
    )
    have = installed(host)
    expected_top = {f"nvidia-headless-no-dkms-{BRANCH}", modules, f"nvidia-utils-{BRANCH}"}
    assert expected_top <= set(have), have
    # Nothing of another branch, no desktop driver, no DKMS.
    assert not [p for p in have if not p.endswith((BRANCH, "-azure", "-generic", "580.95.05"))], have
    assert f"nvidia-driver-{BRANCH}" not in have
    assert not [p for p in have if p.startswith("nvidia-dkms-")]


def test_userspace_is_held_and_kernel_module_metapackages_are_not(host):
    have = installed(host)
    for name in (
        f"nvidia-headless-no-dkms-{BRANCH}",
        f"nvidia-utils-{BRANCH}",
        f"libnvidia-compute-{BRANCH}",
        f"nvidia-compute-utils-{BRANCH}",
        f"nvidia-kernel-common-{BRANCH}",
    ):
        assert have[name] == "hi", name
    # linux-modules-nvidia-* follow the kernel metapackage: a new kernel brings its module.
    assert all(state == "ii" for name, state in have.items() if name.startswith("linux-modules-nvidia-")), have


def test_unattended_upgrades_leave_nvidia_packages_alone(host):
    conf = host.file("/etc/apt/apt.conf.d/51gpuhost-nvidia-driver")
    assert conf.mode == 0o644
    assert '"^nvidia-";' in conf.content_string and '"^libnvidia-";' in conf.content_string
    out = host.check_output("apt-config dump Unattended-Upgrade::Package-Blacklist")
    assert "^libnvidia-" in out


def test_persistenced_enabled(host):
    assert host.service("nvidia-persistenced").is_enabled


def test_reboot_pending_recorded_with_the_installed_version(host):
    fact = json.loads(host.file(FACT).content_string)
    assert fact == {"reboot_pending": True, "gpus_on_pci_bus": 2, "installed": "580.95.05", "rebooted_for": ""}


def test_rerun_changes_nothing(run_play):
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout
    assert "REBOOT PENDING" in result.stdout


def test_check_mode_reports_the_install_it_would_do(host, run_play):
    result = run_play(extra_vars={"nvidia_driver_ubuntu_branch": "570-server"}, check=True)
    assert result.returncode == 0, result.stdout[-3000:]
    modules = offered(host)["nvidia-driver-570-server"]
    assert (
        "Would run ubuntu-drivers install --gpgpu nvidia:570-server, installing "
        f"nvidia-headless-no-dkms-570-server, {modules}" in result.stdout
    ), result.stdout[-3000:]
    assert not [p for p in installed(host) if "570" in p]


def failed_before_changes(host, result, before):
    assert result.returncode != 0
    assert installed(host) == before  # nothing installed, removed or (un)held
    assert "The host reboots into the new driver" not in result.stdout


def test_no_driver_for_the_branch_fails_naming_what_is_offered(host, run_play):
    before = installed(host)
    result = run_play(extra_vars={"nvidia_driver_ubuntu_branch": "nvidia:550-server", "nvidia_driver_reboot": True})
    failed_before_changes(host, result, before)
    assert "ubuntu-drivers has no driver for branch 550-server on this host's GPUs" in result.stdout
    assert "(it offers: 535-server, 570-server, 580-server, 580-server-open)" in result.stdout


def test_branch_below_the_minimum_fails_before_install(host, run_play):
    before = installed(host)
    result = run_play(
        extra_vars={
            "nvidia_driver_ubuntu_branch": "570-server",
            "nvidia_driver_min_version": "580",
            "nvidia_driver_reboot": True,
        }
    )
    failed_before_changes(host, result, before)
    assert "nvidia_driver_ubuntu_branch 570-server is older than nvidia_driver_min_version 580" in result.stdout


@pytest.fixture
def dkms_only_kernel(host):
    """A newer kernel with no prebuilt NVIDIA module (as when a kernel lands before its modules)."""
    name = scenario_vars(host)["gpuhost_test_dkms_kernel"]
    host.check_output(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {name}")
    yield name
    images = host.check_output("dpkg-query -W -f '${Package}\\n' 'linux-image-*-lowlatency'").split()
    host.check_output(f"DEBIAN_FRONTEND=noninteractive apt-get purge -y -q {name} {' '.join(images)}")


def test_a_kernel_that_needs_include_dkms_fails_with_the_fix(host, run_play, dkms_only_kernel):
    # Canonical's tool itself exits 0 here having installed nothing.
    tool = host.run(f"{SYS} ubuntu-drivers install --gpgpu nvidia:570-server")
    assert tool.rc == 0 and not [p for p in installed(host) if "570" in p]
    before = installed(host)
    result = run_play(extra_vars={"nvidia_driver_reboot": True})
    failed_before_changes(host, result, before)
    assert f"Canonical ships no prebuilt NVIDIA {BRANCH} module for kernel" in result.stdout, result.stdout[-3000:]
    assert "set nvidia_driver_ubuntu_include_dkms=true" in result.stdout


@pytest.fixture
def unattended_upgrades_holding_the_lock(host):
    # A process named as unattended-upgrades is (its comm: unattended-upgr), holding dpkg's frontend lock.
    host.check_output(
        "printf '%s\\n' '#!/usr/bin/python3' 'import fcntl, time' "
        "'f = open(\"/var/lib/dpkg/lock-frontend\", \"w\")' 'fcntl.lockf(f, fcntl.LOCK_EX)' "
        "'open(\"/run/gpuhost-test-uu-locked\", \"w\").close()' 'time.sleep(60)' > /usr/bin/unattended-upgrade"
        " && chmod 0755 /usr/bin/unattended-upgrade"
    )
    host.check_output("systemd-run --unit=gpuhost-test-uu /usr/bin/unattended-upgrade")
    host.check_output("for i in $(seq 50); do [ -e /run/gpuhost-test-uu-locked ] && break; sleep 0.1; done")
    yield host.check_output("systemctl show -p MainPID --value gpuhost-test-uu")
    host.run("systemctl stop gpuhost-test-uu; rm -f /run/gpuhost-test-uu-locked /usr/bin/unattended-upgrade")


def test_dpkg_lock_held_by_unattended_upgrades_fails_naming_it(host, run_play, unattended_upgrades_holding_the_lock):
    pid = unattended_upgrades_holding_the_lock
    before = installed(host)
    result = run_play(
        extra_vars={
            "nvidia_driver_ubuntu_branch": "570-server",
            "nvidia_driver_apt_lock_timeout": 4,
            "nvidia_driver_reboot": True,
        }
    )
    failed_before_changes(host, result, before)
    assert f"/var/lib/dpkg/lock-frontend by process {pid} (/usr/bin/python3 /usr/bin/unattended-upgrade)" in (
        result.stdout
    ), result.stdout[-3000:]
    assert "wait for that process to finish (or stop it)" in result.stdout


def test_ubuntu_drivers_exit_0_after_a_failed_apt_get_fails_the_play(host, run_play):
    # Another branch conflicts with the held one: apt-get refuses, Canonical's tool still exits 0.
    tool = host.run(f"{SYS} ubuntu-drivers install --gpgpu nvidia:570-server")
    assert tool.rc == 0 and not [p for p in installed(host) if "570" in p], tool.stdout
    before = installed(host)
    result = run_play(extra_vars={"nvidia_driver_ubuntu_branch": "570-server", "nvidia_driver_reboot": True})
    failed_before_changes(host, result, before)
    assert "ubuntu-drivers install --gpgpu nvidia:570-server' exited 0 but" in result.stdout, result.stdout[-3000:]
    assert "nothing was held and the host was not rebooted" in result.stdout
    assert "apt said: E: " in result.stdout
    assert "this may be caused by held packages" in result.stdout


@pytest.fixture
def old_kernel_without_module(host):
    name = scenario_vars(host)["gpuhost_test_old_kernel"]
    host.check_output(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {name}")
    yield name.removeprefix("linux-image-")
    host.check_output(f"DEBIAN_FRONTEND=noninteractive apt-get purge -y -q {name}")


def test_no_reboot_while_an_installed_kernel_has_no_nvidia_module(host, run_play, old_kernel_without_module):
    before = installed(host)
    result = run_play(extra_vars={"nvidia_driver_reboot": True})
    failed_before_changes(host, result, before)
    assert f"Not rebooting: kernel(s) {old_kernel_without_module} have no NVIDIA module" in result.stdout, (
        result.stdout[-3000:]
    )


def test_no_second_reboot_for_a_driver_that_did_not_load(host, run_play):
    original = host.file(FACT).content_string
    record = dict(json.loads(original), rebooted_for="580.95.05")
    host.check_output(f"echo '{json.dumps(record)}' > {FACT}")
    try:
        result = run_play(extra_vars={"nvidia_driver_reboot": True})
        assert result.returncode != 0
        assert "This host was already rebooted for NVIDIA driver 580.95.05" in result.stdout, result.stdout[-3000:]
        assert "the role does not reboot again" in result.stdout
    finally:
        host.check_output(f"cat > {FACT} <<'EOF'\n{original}EOF")


# A container loads no kernel module: these write the version line the NVIDIA module puts in
# /proc/driver/nvidia/version into the scenario's fake procfs (nvidia_driver_procfs_root), the one thing
# played; the role's decision from it and dpkg's real state is what is tested.
PROC_VERSION = "/opt/gpuhost-standin/proc/driver/nvidia/version"


@pytest.fixture
def loaded_module(host):
    original = host.file(FACT).content_string

    def load(version):
        host.check_output(
            f"mkdir -p {PROC_VERSION.rsplit('/', 1)[0]} && printf 'NVRM version: NVIDIA UNIX Open Kernel Module for "
            f"x86_64  {version}  Release Build  (dvs-builder@U22-I3-AE18-09-3)  Wed Sep 10 2025\\n' > {PROC_VERSION}"
        )

    yield load
    host.check_output(f"rm -f {PROC_VERSION}")
    host.check_output(f"cat > {FACT} <<'EOF'\n{original}EOF")


def test_an_old_module_still_loaded_after_an_upgrade_is_a_pending_reboot(host, run_play, loaded_module):
    loaded_module("570.172.08")  # userspace is 580.95.05 (dpkg): "Driver/library version mismatch"
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    words = " ".join(result.stdout.split())
    assert "NVIDIA driver 570.172.08 is loaded but dpkg has installed 580.95.05" in words, words[-3000:]
    assert "REBOOT PENDING" in result.stdout
    assert "nothing to install" not in words
    assert json.loads(host.file(FACT).content_string)["reboot_pending"] is True


def test_the_installed_driver_loaded_clears_the_pending_reboot(host, run_play, loaded_module):
    loaded_module("580.95.05")  # what a reboot into the installed driver gives
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    words = " ".join(result.stdout.split())
    assert "NVIDIA driver 580.95.05 is loaded (>= " in words and "nothing to install" in words, words[-3000:]
    assert "REBOOT PENDING" not in result.stdout
    fact = json.loads(host.file(FACT).content_string)
    assert fact["reboot_pending"] is False and fact["loaded"] == "580.95.05", fact

"""The host recovers by itself: apt_ready before the docker role's first package install (real apt and dpkg).

An interrupted dpkg is finished, a held lock is waited for and then named with its holder, a source apt
cannot read is named (another tool's) or rewritten (gpuhost's own), and a one-source refresh does not make
the whole index look fresh. The host is converged already, so each run asks for one more package (Debian's
`hello`, removed again after the test) to give the role something to install; a rerun with nothing to install
does not wait for apt at all.
"""

import contextlib
import shlex
import time

from conftest import task_status

# One more package than the scenario's converge installs: the role has apt work, so apt_ready runs first.
INSTALL = {"docker_distro_packages": ["docker.io", "hello"]}


@contextlib.contextmanager
def extra_package_removed_after(host):
    try:
        yield
    finally:
        host.run("dpkg --purge hello")


CONTROL = "Package: gpuhost-test-interrupted\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
INTERRUPTED = f"""set -e
mkdir -p /tmp/gpuhost-pkg/DEBIAN
printf '%s' '{CONTROL}Description: t\n' > /tmp/gpuhost-pkg/DEBIAN/control
printf '#!/bin/sh\ntouch /run/gpuhost-test-configured\n' > /tmp/gpuhost-pkg/DEBIAN/postinst
chmod 755 /tmp/gpuhost-pkg/DEBIAN/postinst
dpkg-deb -b /tmp/gpuhost-pkg /tmp/gpuhost-test.deb >/dev/null
dpkg --unpack /tmp/gpuhost-test.deb >/dev/null
: > /var/lib/dpkg/updates/0001
"""


def test_an_interrupted_dpkg_is_finished_before_installing(host, run_play):
    # A VM reset during a package install: unpacked, never configured, dpkg's journal left behind.
    host.check_output(f"bash -c {shlex.quote(INTERRUPTED)}")
    assert "gpuhost-test-interrupted" in host.check_output("dpkg --audit")
    with extra_package_removed_after(host):
        result = run_play(extra_vars=INSTALL)
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.check_output("dpkg --audit") == ""
    assert host.file("/run/gpuhost-test-configured").exists
    assert host.package("gpuhost-test-interrupted").is_installed
    host.check_output("dpkg --purge gpuhost-test-interrupted")


def test_a_lock_held_too_long_names_its_holder(host, run_play):
    hold = (
        "import fcntl, time; f = open('/var/lib/dpkg/lock-frontend', 'w'); "
        "fcntl.lockf(f, fcntl.LOCK_EX); open('/run/gpuhost-test-locked2', 'w').close(); time.sleep(40)"
    )
    host.check_output(f'systemd-run --unit=gpuhost-test-apt-lock2 python3 -c "{hold}"')
    host.check_output("for i in $(seq 50); do [ -e /run/gpuhost-test-locked2 ] && break; sleep 0.1; done")
    pid = host.check_output("systemctl show -p MainPID --value gpuhost-test-apt-lock2")
    started = time.monotonic()
    with extra_package_removed_after(host):
        result = run_play(extra_vars={**INSTALL, "docker_apt_lock_timeout": 6})
    assert result.returncode != 0
    assert time.monotonic() - started < 35  # it gave up at the timeout, not when the lock was released
    assert "/var/lib/dpkg/lock-frontend by process " + pid in result.stdout, result.stdout[-3000:]
    assert "python3 -c import fcntl" in result.stdout
    host.run("systemctl stop gpuhost-test-apt-lock2")


def test_another_tools_unreadable_source_is_named(host, run_play):
    host.check_output("echo 'deb http://mirror.example.invalid/debian' > /etc/apt/sources.list.d/vendor-tool.list")
    try:
        with extra_package_removed_after(host):
            result = run_play(extra_vars=INSTALL)
    finally:
        host.check_output("rm -f /etc/apt/sources.list.d/vendor-tool.list")
    assert result.returncode != 0
    assert "apt cannot read the apt source /etc/apt/sources.list.d/vendor-tool.list (not written by gpuhost)" in (
        result.stdout
    ), result.stdout[-3000:]
    assert "move it out of /etc/apt/sources.list.d" in result.stdout


def test_gpuhosts_own_broken_source_is_replaced_not_fatal(host, run_play):
    # As an earlier run with a bad URL left it: apt cannot parse it, and the whole host's apt is broken.
    host.check_output(
        "printf '# Managed by gpuhost.provision (Ansible); local changes are overwritten.\\nTypes: deb\\n"
        "URIs: not a url\\nSuites: /\\n' > /etc/apt/sources.list.d/nvidia-container-toolkit.sources"
    )
    with extra_package_removed_after(host):
        result = run_play(extra_vars=INSTALL)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "which gpuhost wrote earlier: removed" in result.stdout
    assert host.run("apt-cache policy").rc == 0


def test_a_one_source_refresh_leaves_the_index_age_alone(host, run_play):
    stamp = "/var/lib/apt/periodic/update-success-stamp"
    host.check_output(f"mkdir -p /var/lib/apt/periodic && touch -d '3 hours ago' {stamp} /var/lib/apt/lists")
    before = host.file(stamp).mtime
    result = run_play("source_update.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    # apt's hook touched the stamp; the module put it back: the next full refresh is not skipped as fresh.
    assert host.file(stamp).mtime == before


# STAND-IN for cloud-init (the test host has none): `status --wait` blocks as on a VM's first boot, then says done.
CLOUD_INIT = """#!/bin/sh
# STAND-IN cloud-init from gpuhost's tests
[ "$1 $2" = "status --wait" ] || exit 3
date +%s > /run/gpuhost-test-cloud-init-waited-from
sleep 8
echo 'status: done'
"""


def test_cloud_init_is_waited_for_before_apt(host, run_play):
    host.check_output(f"cat > /usr/local/bin/cloud-init <<'EOF'\n{CLOUD_INIT}EOF\nchmod 755 /usr/local/bin/cloud-init")
    try:
        started = time.monotonic()
        with extra_package_removed_after(host):
            result = run_play(extra_vars=INSTALL)
        waited = time.monotonic() - started
    finally:
        host.check_output("rm -f /usr/local/bin/cloud-init")
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.file("/run/gpuhost-test-cloud-init-waited-from").exists
    assert waited >= 8


def test_another_tools_dead_repository_is_named_with_what_to_do(host, run_play):
    # Nothing listens on port 9; with an index over an hour old apt_ready refreshes it and must say whose it is.
    source = "/etc/apt/sources.list.d/vendor-dead.list"
    host.check_output(f"echo 'deb [trusted=yes] http://127.0.0.1:9/vendor stable main' > {source}")
    host.check_output("touch -d '2 hours ago' /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists")
    try:
        started = time.monotonic()
        with extra_package_removed_after(host):
            result = run_play(extra_vars=INSTALL)
        took = time.monotonic() - started
    finally:
        host.check_output(f"rm -f {source}")
    assert result.returncode != 0
    words = " ".join(result.stdout.split())
    assert f"apt could not refresh a source gpuhost did not write: {source} (http://127.0.0.1:9/vendor)" in words, (
        words[-3000:]
    )
    assert "move its file out of /etc/apt/sources.list.d" in words
    assert took < 120


def test_a_rerun_with_nothing_to_install_does_not_wait_for_apt(host, run_play):
    # unattended-upgrades holding the lock on a converged host: the rerun has no apt work and must not wait.
    hold = (
        "import fcntl, time; f = open('/var/lib/dpkg/lock-frontend', 'w'); "
        "fcntl.lockf(f, fcntl.LOCK_EX); open('/run/gpuhost-test-locked3', 'w').close(); time.sleep(60)"
    )
    host.check_output(f'systemd-run --unit=gpuhost-test-apt-lock3 python3 -c "{hold}"')
    try:
        host.check_output("for i in $(seq 50); do [ -e /run/gpuhost-test-locked3 ] && break; sleep 0.1; done")
        started = time.monotonic()
        result = run_play()
        took = time.monotonic() - started
    finally:
        host.run("systemctl stop gpuhost-test-apt-lock3")
    assert result.returncode == 0, result.stdout[-3000:]
    assert task_status(result.stdout, "Apt is ready for Docker's packages") == "skipping"
    assert took < 50

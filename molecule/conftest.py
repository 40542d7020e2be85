"""Helpers for the Molecule scenarios' testinfra tests (pytest finds this conftest above each tests/)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

# The collection's own OpenPGP reader, so the tests check keyrings without gpg on the controller.
sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "plugins", "module_utils"))
from openpgp import primary_fingerprints  # noqa: E402


@pytest.fixture
def run_play():
    """Run a playbook of this scenario against its instance, as `molecule converge` would.

    Molecule's verifier environment carries its ANSIBLE_CONFIG (roles, collections); the inventory is its own.
    Returns the CompletedProcess; the test asserts on its return code and output.
    """

    def run(playbook: str = "converge.yml", extra_vars: dict | None = None, check: bool = False):
        """check=True runs in check mode with --diff."""
        scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
        inventory = os.environ.get("MOLECULE_INVENTORY_FILE") or os.path.join(
            os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"
        )
        cmd = ["ansible-playbook", "-i", inventory, os.path.join(scenario, playbook)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd += ["--check", "--diff"]
        # JSON results keep each message on one line, uncoloured, for the tests to search.
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
        # ansible-core 2.19 prints task errors on stderr: one stream for the tests to search.
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, env=env)

    return run


def task_status(stdout: str, task: str) -> str:
    """The status word (ok, changed, skipping, fatal) the default callback printed after a task's header."""
    after = re.sub(r"\x1b\[[0-9;]*m", "", stdout).split(f" : {task}]", 1)[1]
    return next(line.split(":")[0].strip() for line in after.splitlines()[1:] if ":" in line)


def daemon_json(host) -> dict:
    return json.loads(host.file("/etc/docker/daemon.json").content_string)


def busybox_image(host) -> None:
    """Import the busybox that prepare copied in as a one-binary container image, with the host's Docker."""
    host.check_output("tar -C /opt/gpuhost-test/rootfs -c . | docker import - gpuhost-test/busybox:latest")


def keyring_fingerprints(host, path: str) -> list[str]:
    """Primary-key fingerprints of a keyring file on the test host."""
    return primary_fingerprints(host.file(path).content)


def docker_starts(host) -> int:
    """How often dockerd finished starting since the test host booted (its own log line, once per start)."""
    out = host.check_output("journalctl --boot --unit=docker.service --output=cat --no-pager")
    return out.count("Daemon has completed initialization")


def set_aside_install_guide_source(host, run_play, *, guide_list: str, guide_keyring: str, guide_line: str, gpg: str):
    """Leave a vendor install guide's source + keyring beside the role's, run the play, check both set aside.

    The conflict is apt's own ("Conflicting values set for option Signed-By": no source can be read at all);
    the play must rename both to *.gpuhost.disabled and name the file. Returns the play's result.
    """
    host.check_output(f"cp {gpg} {guide_keyring}")
    host.check_output(f"echo {shlex.quote(guide_line)} > {guide_list}")
    policy = host.run("apt-cache policy")
    try:
        assert policy.rc != 0
        assert "Conflicting values set for option Signed-By" in policy.stderr, policy.stderr
        result = run_play()
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        host.run(f"rm -f {guide_list} {guide_keyring}")
    assert f"{guide_list} (left by another tool, e.g. an install guide) conflicts with gpuhost's" in result.stdout
    assert host.file(guide_list + ".gpuhost.disabled").content_string.strip() == guide_line
    assert host.file(guide_keyring + ".gpuhost.disabled").exists
    assert host.run("apt-cache policy").rc == 0
    host.check_output(f"rm -f {guide_list}.gpuhost.disabled {guide_keyring}.gpuhost.disabled")
    return result

"""Helpers for the Molecule scenarios' testinfra tests (pytest finds this conftest above each tests/)."""

from __future__ import annotations

import json
import os
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

"""site.yml rolls out a batch at a time, and a batch that fails verification stops the roll-out.

Three sandbox hosts; the middle one, gpuhost-fleet-1, runs gpu_verify although it has no GPU, so it fails
verification ("no NVIDIA GPU on this host"), as a host whose driver did not come up would. The driver stage
runs its preflight (no GPU: nothing to install); the docker and toolkit stages are skipped to keep the test
to seconds: serial and max_fail_percentage are play keywords, every stage runs under them alike.
The tests take no `host` fixture, so they run once, not once per host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

SUFFIX = os.environ.get("GPUHOST_MOLECULE_SUFFIX", "")
HOSTS = [f"gpuhost-fleet-{i}{SUFFIX}" for i in range(3)]
BAD = HOSTS[1]
SITE = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "site.yml")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("fleet") / "hosts.json"
    # The host made to fail verification runs gpu_verify; the others skip it, as the sandbox does.
    hosts = {name: {"gpu_verify_enabled": name == BAD} for name in HOSTS}
    group = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}
    path.write_text(json.dumps({"gpu_hosts": {"vars": group, "hosts": hosts}}))
    return str(path)


def site(inventory: str, *args: str) -> subprocess.CompletedProcess:
    cmd = ["ansible-playbook", "-i", inventory, SITE, "--skip-tags", "docker,toolkit", *args]
    # Molecule forces colour for its own output: plain text for the tests to search.
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, env=env)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP as {host: {ok: n, changed: n, failed: n, ...}}."""
    rows = {}
    for line in output.rsplit("PLAY RECAP", 1)[1].splitlines():
        match = re.match(r"(\S+)\s+:\s+(.*)", line)
        if match:
            rows[match[1]] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match[2])}
    return rows


def test_defaults_a_failed_canary_batch_stops_the_next_batch(inventory):
    # Defaults: serial [1, '25%'] (3 hosts: batches of 1), max_fail_percentage 0.
    result = site(inventory)
    out = result.stdout
    assert result.returncode != 0, out[-3000:]
    # The failed host is named, with verification's reason.
    assert f"fatal: [{BAD}]: FAILED!" in out, out[-3000:]
    assert "no NVIDIA GPU on this host" in out
    rows = recap(out)
    assert rows.get(HOSTS[0], {}).get("failed") == 0, (rows, out[-2500:])
    assert rows.get(BAD, {}).get("failed") == 1, (rows, out[-2500:])
    # The next batch never started: its host appears nowhere, not even in fact gathering.
    assert HOSTS[2] not in rows, rows
    assert HOSTS[2] not in out
    # One play banner per batch that ran, and the first batch finished before the second began.
    assert out.count("PLAY [GPU container host]") == 2
    assert out.rindex(f"[{HOSTS[0]}]") < out.index(f"[{BAD}]")
    assert "NO MORE HOSTS LEFT" in out


def test_a_failure_budget_lets_the_roll_out_go_on(inventory):
    # Command-line strings, as an operator types them: batches of 2, up to half of a batch may fail.
    result = site(inventory, "-e", "gpuhost_serial=2", "-e", "gpuhost_max_fail_percentage=50")
    out = result.stdout
    # The play still fails (a host failed) but the budget let the next batch run.
    assert result.returncode != 0, out[-3000:]
    rows = recap(out)
    assert rows.get(BAD, {}).get("failed") == 1, (rows, out[-2500:])
    assert rows.get(HOSTS[0], {}).get("failed") == 0, (rows, out[-2500:])
    assert rows.get(HOSTS[2], {}).get("failed") == 0, rows
    assert rows.get(HOSTS[2], {}).get("ok", 0) > 0, rows
    assert out.count("PLAY [GPU container host]") == 2

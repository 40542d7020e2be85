"""ssh host-key checking is on for every inventory that reaches hosts over ssh (the real clouds).

Only the disposable sandbox may go without, and it does not use ssh at all (docker connection). The test
asks Ansible itself for the effective value per host: the ssh connection plugin's host_key_checking option
as resolved from ansible.cfg, environment and inventory variables, plus the ssh arguments that could turn
it off behind Ansible's back.
"""

import json
import os
import re
import subprocess

import pytest
from ansible_run import ROOT, _env, cli

SSH = "plugin_type='connection', plugin_name='ssh'"
PROBE = (
    "{{ {'connection': ansible_connection | default('ssh'),"
    f" 'host_key_checking': lookup('ansible.builtin.config', 'host_key_checking', {SSH}),"
    f" 'ssh_args': [lookup('ansible.builtin.config', 'ssh_args', {SSH}),"
    f" lookup('ansible.builtin.config', 'ssh_common_args', {SSH}),"
    f" lookup('ansible.builtin.config', 'ssh_extra_args', {SSH})] | join(' ')}} | to_json }}}}"
)
# Static inventories in the repo (azure_rm.yml needs Azure credentials; it shares hosts.yml's group_vars).
INVENTORIES = ["sandbox", "local", "azure-nc-a100", "paperspace-a4000"]


def effective(inventory):
    """{host: {connection, host_key_checking, ssh_args}} as Ansible resolves them (debug does not connect)."""
    env = _env(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    for name in ("ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_ARGS", "ANSIBLE_SSH_COMMON_ARGS", "ANSIBLE_SSH_EXTRA_ARGS"):
        env.pop(name, None)  # the test reads what the repo sets, not this shell's environment
    cmd = [
        cli("ansible"),
        "-i",
        os.path.join(ROOT, "inventories", inventory, "hosts.yml"),
        "all",
        "-m",
        "ansible.builtin.debug",
        "-a",
        json.dumps({"msg": PROBE}),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # `host | SUCCESS => {json}` per host; the probe's msg is itself JSON.
    decoder = json.JSONDecoder()
    hosts = {}
    for match in re.finditer(r"^(\S+) \| SUCCESS => ", proc.stdout, re.MULTILINE):
        result, _end = decoder.raw_decode(proc.stdout, match.end())
        hosts[match.group(1)] = json.loads(result["msg"])
    return hosts


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_host_key_checking_is_on_wherever_ssh_is_used(inventory):
    hosts = effective(inventory)
    assert hosts, f"no hosts in inventories/{inventory}"
    for host, setting in hosts.items():
        if setting["connection"] in ("ssh", "ansible.builtin.ssh", "paramiko", "smart"):
            assert setting["host_key_checking"] is True, f"{inventory}: {host} connects without checking host keys"
            assert "StrictHostKeyChecking=no" not in setting["ssh_args"], f"{inventory}: {host}: {setting}"
            assert "UserKnownHostsFile=/dev/null" not in setting["ssh_args"], f"{inventory}: {host}: {setting}"


def test_the_real_clouds_use_ssh_and_the_sandbox_does_not():
    # The test above must have something to check: the clouds are reached over ssh, the sandbox is not.
    assert {s["connection"] for s in effective("azure-nc-a100").values()} == {"ssh"}
    assert {s["connection"] for s in effective("paperspace-a4000").values()} == {"ssh"}
    assert {s["connection"] for s in effective("sandbox").values()} == {"community.docker.docker"}

"""site.yml rejects bad input for any role before the first role changes anything.

Each role validates its own arguments when it starts; in site.yml the roles before it would already have
changed the host. site.yml runs here in --check against this machine; a rejected value must stop it in the
play's pre_tasks, before any task of any role, with a message naming the variable.
"""

import json

import pytest
from ansible_run import run_playbook

CASES = [
    # (variable, bad value, what the message says)
    ("nvidia_container_toolkit_version", "v1.17.8", 'nvidia_container_toolkit_version: "v1.17.8" is not a Debian'),
    ("nvidia_container_toolkit_version", "1.17.8 -1", "is not a Debian package version"),
    ("nvidia_container_toolkit_key_fingerprint", "F796ECB0", "is not a key fingerprint"),
    ("docker_upstream_key_fingerprint", "8D81 803C 0EBF CD88", "is not a key fingerprint"),
    ("nvidia_container_toolkit_repo_url", "nvidia.github.io/libnvidia-container", "is not an http://, https://"),
    ("docker_upstream_repo_url", "not a url", "is not an http://, https://"),
    ("nvidia_container_toolkit_key_url", "ftp://example.org/gpgkey", "is not an http://, https://"),
    ("docker_version", "27.3.1 -1", "is not a Debian package version"),
    ("gpu_verify_mode", "cloud", "value of gpu_verify_mode must be one of"),
    ("nvidia_container_toolkit_default_runtime", "perhaps", "nvidia_container_toolkit_default_runtime"),
    ("docker_users", ["-rf"], "is not a valid user name"),
    # This machine is Debian: docker_source auto means docker.io, which a Docker CE pin would not reach.
    ("docker_version", "5:27.3.1-1~debian.12~bookworm", "pins Docker CE (docker-ce, docker-ce-cli), but this host"),
]


def run_site(*args, **extra):
    return run_playbook(
        "playbooks/site.yml",
        "tests/integration/localhost.yml",
        "--check",
        *args,
        "-e",
        json.dumps({"gpuhost_hosts": "localhost", "ansible_become": False, **extra}),
    )


@pytest.mark.parametrize(("variable", "value", "message"), CASES, ids=[f"{c[0]}={c[1]}" for c in CASES])
def test_bad_input_stops_site_before_any_role_runs(variable, value, message):
    result = run_site(**{variable: value})
    words = " ".join(result.stdout.split())
    assert result.returncode != 0, words[-2000:]
    assert message in words, words[-2000:]
    assert variable in words
    # No role's own tasks ran: only the play's pre_tasks (and what they include) did.
    tasks = [line for line in result.stdout.splitlines() if line.startswith("TASK [")]
    started = [t for t in tasks if "gpuhost.provision.nvidia_driver :" in t or "Validating arguments" in t]
    assert started == [], started
    assert "changed=0" in words


def test_good_values_pass_the_pre_tasks():
    # The same checks accept what users write: a pinned version with epoch, a mirror on file://.
    # A tag no task has: only the pre_tasks (tagged always) run, the roles themselves are not under test here.
    result = run_site(
        "--tags",
        "gpuhost_pre_tasks_only",
        nvidia_container_toolkit_version="1.17.8-1",
        docker_version="5:27.3.1-1~debian.12~bookworm",
        docker_source="upstream",
        nvidia_container_toolkit_repo_url="file:///srv/mirror/nvidia",
        nvidia_container_toolkit_key_fingerprint="0xC95B321B61E88C1809C4F759DDCAE044F796ECB0",
        docker_users="root",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    tasks = [line for line in result.stdout.splitlines() if line.startswith("TASK [")]
    assert any("The toolkit's version pin is a Debian package version" in t for t in tasks), tasks
    assert any("Docker users exist on the host" in t for t in tasks), tasks

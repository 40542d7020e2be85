"""docker_users is checked in the docker role's preflight, before any change: names, and that users exist.

The docker group is root-equivalent, so a name that is not a user name (`-rf` would reach useradd as an
option) or a user that does not exist (a typo would become a new local account) stops the play first.
The role runs in --check against this machine; the preflight's failure must come before any other stage.
"""

import json

import pytest
from ansible_run import run_playbook


def run_docker_role(**extra):
    return run_playbook(
        "tests/integration/include_role.yml",
        "tests/integration/localhost.yml",
        "--check",
        "-e",
        json.dumps({"role_under_test": "docker", "docker_source": "distro", **extra}),
    )


def tasks_run(stdout):
    return [line for line in stdout.splitlines() if line.startswith("TASK [gpuhost.provision.docker :")]


def assert_stopped_in_preflight(result, *words):
    text = " ".join(result.stdout.split())
    assert result.returncode != 0, text[-2000:]
    for word in words:
        assert word in text, text[-2000:]
    # The failing task was a preflight check of docker_users: no repository, package or user task ran.
    last = tasks_run(result.stdout)[-1]
    assert "Docker user names are valid" in last or "Docker users exist on the host" in last, last
    assert "changed=0" in text


@pytest.mark.parametrize("name", ["-rf", "--help", "Alice Smith", "root:x", "a" * 33, "1234", "../etc"])
def test_invalid_user_names_are_refused_before_any_change(name):
    result = run_docker_role(docker_users=["root", name])
    assert_stopped_in_preflight(result, "docker_users", json.dumps(name), "not a valid user name")


def test_a_user_that_does_not_exist_is_refused_not_created():
    result = run_docker_role(docker_users=["root", "gpuhost-no-such-user"])
    assert_stopped_in_preflight(result, "docker_users: gpuhost-no-such-user does not exist", "docker_users_create")


@pytest.mark.parametrize("value", ["root", "root,daemon"])
def test_a_string_passes_the_preflight_as_a_list(value):
    # -e docker_users=root is a string: the preflight reads it as a list (as the argument spec does) and
    # checks each name; the play then goes on past the preflight.
    result = run_docker_role(docker_users=value)
    preflight = [name for name in tasks_run(result.stdout) if "Docker user" in name]
    assert any("Docker users exist on the host" in name for name in preflight), result.stdout[-3000:]
    assert "does not exist" not in result.stdout
    assert "not a valid user name" not in result.stdout

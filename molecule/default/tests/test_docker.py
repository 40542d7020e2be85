"""The docker role on a fresh Debian host, docker.io from Debian: a real engine, a real container."""

import time

from conftest import busybox_image, daemon_json


def test_service_is_running_and_enabled(host):
    service = host.service("docker")
    assert service.is_running
    assert service.is_enabled


def test_users_keys_survive_beside_the_roles(host):
    config = daemon_json(host)
    assert config["registry-mirrors"] == ["https://mirror.example.internal"]
    assert config["live-restore"] is True
    # log-opts merged key by key: the user's label option and the role's rotation side by side.
    assert config["log-opts"] == {"labels": "owner", "max-size": "100m", "max-file": "3"}
    assert config["log-driver"] == "json-file"


def test_the_running_engine_uses_the_merged_config(host):
    assert host.check_output("docker info --format '{{.LoggingDriver}}'") == "json-file"
    assert "https://mirror.example.internal/" in host.check_output(
        "docker info --format '{{json .RegistryConfig.Mirrors}}'"
    )


def test_previous_daemon_json_was_backed_up(host):
    backups = host.check_output("ls /etc/docker/ | grep -c '^daemon.json\\..*~$' || true")
    assert int(backups) == 1


def test_docker_users_are_in_the_docker_group(host):
    assert "docker" in host.user("alice").groups


def test_a_real_container_runs(host):
    busybox_image(host)
    out = host.check_output("docker run --rm gpuhost-test/busybox:latest /bin/busybox echo gpuhost-ok")
    assert out == "gpuhost-ok"


def test_docker_stopped_between_runs_is_brought_back(host, run_play):
    host.check_output("systemctl stop docker.socket docker.service")
    assert not host.service("docker").is_running
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.service("docker").is_running
    assert "changed=1" in result.stdout  # the start, and nothing else


def test_apt_lock_held_by_another_process_is_waited_for(host, run_play):
    # Another apt/dpkg run holds the frontend lock for 20 s (a POSIX fcntl lock, the kind apt and dpkg
    # take; flock(1) would not conflict with them). The play must wait for it, then install.
    hold = (
        "import fcntl, time; f = open('/var/lib/dpkg/lock-frontend', 'w'); "
        "fcntl.lockf(f, fcntl.LOCK_EX); open('/run/gpuhost-test-locked', 'w').close(); time.sleep(20)"
    )
    host.check_output(f'systemd-run --unit=gpuhost-test-apt-lock python3 -c "{hold}"')
    host.check_output("for i in $(seq 50); do [ -e /run/gpuhost-test-locked ] && break; sleep 0.1; done")
    started = time.monotonic()
    result = run_play(extra_vars={"docker_distro_packages": ["docker.io", "jq"]})
    waited = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.package("jq").is_installed
    assert waited >= 18


def test_a_missing_docker_user_is_refused_not_created(host, run_play):
    # The docker group is root-equivalent: a typo must not become a new local account in it.
    result = run_play(extra_vars={"docker_users": ["alice", "bob"]})
    assert result.returncode != 0
    assert "docker_users: bob does not exist" in result.stdout, result.stdout[-3000:]
    assert not host.user("bob").exists


def test_docker_users_as_a_string_is_one_user(host, run_play):
    # -e docker_users=alice on the command line is a string, not a list.
    result = run_play(extra_vars={"docker_users": "alice"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout


def test_docker_users_create_creates_only_when_asked(host, run_play):
    result = run_play(extra_vars={"docker_users": ["carol"], "docker_users_create": True})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "docker" in host.user("carol").groups

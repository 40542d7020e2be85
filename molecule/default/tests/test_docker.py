"""The docker role on a fresh Debian host, docker.io from Debian: a real engine, a real container."""

import time

from conftest import busybox_image, daemon_json, task_status


def test_service_is_running_and_enabled(host):
    service = host.service("docker")
    assert service.is_running
    assert service.is_enabled


def test_users_keys_survive_beside_the_roles(host):
    config = daemon_json(host)
    assert config["registry-mirrors"] == ["https://mirror.example.internal"]
    assert config["live-restore"] is True
    # The role's rotation is a default: the user's own max-size wins, the max-file they did not set is added.
    assert config["log-opts"] == {"labels": "owner", "max-size": "10m", "max-file": "3"}
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


def test_a_converged_rerun_leaves_apt_and_systemd_alone(run_play):
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout
    # dpkg already has the packages and Docker is active and enabled (the preflight's probe said so): neither
    # stage is even included, so none of their tasks runs a module.
    for stage in [
        "Install (where a package is missing or not at its pin)",
        "Service (where Docker was just installed, or is not active and enabled)",
    ]:
        assert task_status(result.stdout, stage) == "skipping", stage
    assert "Docker's packages are installed]" not in result.stdout
    assert "Docker is enabled and running]" not in result.stdout


def test_docker_disabled_between_runs_is_enabled_again(host, run_play):
    host.check_output("systemctl disable docker.service")
    assert not host.service("docker").is_enabled
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.service("docker").is_enabled and host.service("docker").is_running
    assert task_status(result.stdout, "Docker is enabled and running") == "changed"
    assert "changed=1" in result.stdout


def test_a_package_missing_between_runs_is_installed_again(host, run_play):
    # The engine's package gone, its dependencies left: the rerun's dpkg probe sees it and apt puts it back.
    host.check_output("dpkg --remove --force-depends docker.io")
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.package("docker.io").is_installed
    assert task_status(result.stdout, "Docker's packages are installed") == "changed"
    # The package's install started and enabled Docker, which the probe after it saw: no start of the role's own.
    assert task_status(result.stdout, "Docker is enabled and running") == "skipping"
    assert host.service("docker").is_running


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


def test_a_rerun_soon_after_a_failed_start_is_not_refused_by_the_start_limit(host, run_play):
    # A first run with a value dockerd refuses: the restart fails. Docker's unit allows 3 starts a minute
    # (StartLimitBurst=3, StartLimitIntervalSec=60s in docker.service); systemd's own restarts, a monitoring
    # agent or an operator trying `systemctl start docker` use them up, and systemd then refuses any start for
    # the rest of the minute ("Start request repeated too quickly").
    failed = run_play(extra_vars={"docker_daemon_options": {"log-level": "gpuhost-no-such-level"}})
    try:
        assert failed.returncode != 0, failed.stdout[-3000:]
        # As systemd logs it, then docker.socket fails with 'service-start-limit-hit' and refuses in turn.
        limited = "Start request repeated too quickly"
        times = host.check_output(
            "for i in 1 2 3 4 5 6; do systemctl start docker.service 2>/dev/null; "
            f"journalctl -u docker.service -o cat --no-pager | grep -q '{limited}' && break; sleep 1; done; "
            f"journalctl -u docker.service -o cat --no-pager | grep -c '{limited}' || true"
        )
        assert int(times) > 0
        assert host.run("systemctl start docker.service").rc != 0  # refused, as a rerun's start task would be
        # The operator fixes the value and runs again at once.
        fixed = run_play(extra_vars={"docker_daemon_options": {"log-level": "info"}})
        assert "Start request repeated too quickly" not in fixed.stdout
        assert fixed.returncode == 0, fixed.stdout[-3000:]
        assert host.service("docker").is_running
    finally:
        host.check_output(
            'python3 -c \'import json; p="/etc/docker/daemon.json"; c=json.load(open(p)); c.pop("log-level", None); '
            'json.dump(c, open(p, "w"), indent=2)\''
        )
        host.check_output("systemctl reset-failed docker.service docker.socket; systemctl restart docker.service")


def test_daemon_json_is_merged_on_a_rerun_only_where_the_file_lost_a_key(host, run_play):
    merge = "Docker's daemon.json holds the role's keys beside the user's own"
    # Converged: the preflight's probe read a file the merge leaves as it is, so no module run.
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout
    assert task_status(result.stdout, merge) == "skipping"
    # A key the role adds, removed by hand: the probe sees it gone, the merge puts it back, the user's keys stay.
    host.check_output(
        'python3 -c \'import json; p="/etc/docker/daemon.json"; c=json.load(open(p)); del c["log-opts"]["max-file"]; '
        'json.dump(c, open(p, "w"), indent=2)\''
    )
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert task_status(result.stdout, merge) == "changed"
    assert daemon_json(host)["log-opts"] == {"labels": "owner", "max-size": "10m", "max-file": "3"}
    assert daemon_json(host)["live-restore"] is True
    again = run_play()
    assert "changed=0" in again.stdout, again.stdout[-3000:]

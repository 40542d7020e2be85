"""The docker role on a fresh Debian host, docker.io from Debian: a real engine, a real container."""

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

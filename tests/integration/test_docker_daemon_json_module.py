"""gpuhost.provision.docker_daemon_json run through Ansible against files on this machine."""

import hashlib
import json
import os

from ansible_run import run_module

NVIDIA = {"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_absent_file_and_directory_are_created(tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA})
    assert result["changed"] is True
    assert json.loads(path.read_text()) == NVIDIA
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert "backup_file" not in result


def test_users_keys_survive_and_a_backup_is_kept(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"runtimes": {"crun": {"path": "/usr/bin/crun"}}, "registry-mirrors": ["https://m"]}')
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA})
    assert result["changed"] is True
    config = json.loads(path.read_text())
    assert config["runtimes"]["crun"] == {"path": "/usr/bin/crun"}
    assert config["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
    assert config["registry-mirrors"] == ["https://m"]
    assert json.loads(open(result["backup_file"]).read())["runtimes"] == {"crun": {"path": "/usr/bin/crun"}}


def test_second_run_changes_nothing_and_leaves_formatting(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"runtimes":{"nvidia":{"path":"nvidia-container-runtime","args":[]}}}')
    before = sha256(path)
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA})
    assert result["changed"] is False
    assert sha256(path) == before
    assert os.listdir(tmp_path) == ["daemon.json"]


def test_invalid_json_fails_naming_the_file_and_is_untouched(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"log-driver": "json-file",\n}')
    before = sha256(path)
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA})
    assert result["failed"] is True
    assert str(path) in result["msg"]
    assert "not valid JSON" in result["msg"]
    assert sha256(path) == before
    assert os.listdir(tmp_path) == ["daemon.json"]


def test_empty_file_is_filled(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("")
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA})
    assert result["changed"] is True
    assert json.loads(path.read_text()) == NVIDIA


def test_check_mode_reports_a_diff_and_writes_nothing(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}')
    before = sha256(path)
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA}, check=True, diff=True)
    assert result["changed"] is True
    assert '+  "runtimes": {' in result["_stdout"]
    assert sha256(path) == before


def test_remove_matching_keeps_a_users_own_default_runtime(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"default-runtime": "crun"}')
    result = run_module(
        "docker_daemon_json", {"path": str(path), "settings": NVIDIA, "remove_matching": {"default-runtime": "nvidia"}}
    )
    assert json.loads(path.read_text())["default-runtime"] == "crun"
    path.write_text('{"default-runtime": "nvidia"}')
    result = run_module(
        "docker_daemon_json", {"path": str(path), "settings": NVIDIA, "remove_matching": {"default-runtime": "nvidia"}}
    )
    assert result["changed"] is True
    assert "default-runtime" not in json.loads(path.read_text())

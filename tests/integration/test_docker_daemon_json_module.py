"""gpuhost.provision.docker_daemon_json run through Ansible against files on this machine."""

import hashlib
import json
import os
import subprocess

import pytest
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


def test_a_symlink_stays_a_link_and_its_target_is_updated(tmp_path):
    # daemon.json kept in a config repository and linked into /etc/docker.
    (tmp_path / "repo").mkdir()
    target = tmp_path / "repo" / "daemon.json"
    target.write_text('{"debug": true}')
    (tmp_path / "etc").mkdir()
    link = tmp_path / "etc" / "daemon.json"
    link.symlink_to("../repo/daemon.json")
    result = run_module("docker_daemon_json", {"path": str(link), "settings": NVIDIA})
    assert result["changed"] is True
    assert link.is_symlink()
    assert os.readlink(link) == "../repo/daemon.json"
    assert json.loads(target.read_text()) == {"debug": True, **NVIDIA}
    assert result["path"] == str(target)
    # The backup sits beside the file that changed; nothing new beside the link.
    assert os.listdir(tmp_path / "etc") == ["daemon.json"]
    assert os.path.dirname(result["backup_file"]) == str(tmp_path / "repo")
    again = run_module("docker_daemon_json", {"path": str(link), "settings": NVIDIA})
    assert again["changed"] is False


def test_backups_are_bounded_and_other_files_left_alone(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{}")
    # Backups earlier runs left (ansible's backup_local names), and a file of the user's that only looks alike.
    old = [f"daemon.json.{100 + day}.2026-11-0{day}@10:00:00~" for day in range(1, 6)]
    for name in old:
        (tmp_path / name).write_text("{}")
    (tmp_path / "daemon.json.mine~").write_text("{}")
    result = run_module("docker_daemon_json", {"path": str(path), "settings": {"debug": True}})
    assert result["changed"] is True
    left = sorted(os.listdir(tmp_path))
    backups = [name for name in left if name.startswith("daemon.json.") and name != "daemon.json.mine~"]
    # The newest 3 (default backup_keep): the one just made and the two newest before it.
    assert sorted(backups) == sorted([os.path.basename(result["backup_file"]), old[3], old[4]])
    assert "daemon.json.mine~" in left


def full_filesystem(directory, listing):
    """A command prefix that runs ansible with a 16 KiB tmpfs on `directory`, filled, in a private mount namespace.

    Nothing on this machine's own mounts changes; the tmpfs goes with the namespace, so what is left in it is
    listed into the file `listing` (outside it) after ansible ran. Needs root (CAP_SYS_ADMIN) for unshare -m.
    """
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here (unshare -m: {probe.stderr.strip()})")
    script = (
        f"mount -t tmpfs -o size=16k tmpfs {directory} && "
        f"""printf '{{"debug": true}}' > {directory}/daemon.json && """
        f"{{ dd if=/dev/zero of={directory}/filler bs=1k count=64 2>/dev/null; true; }} && "
        f'"$@"; rc=$?; ls -A {directory} > {listing}; exit $rc'
    )
    return ("unshare", "-m", "sh", "-c", script, "sh")


def test_a_full_disk_names_the_file_and_the_cause_and_leaves_no_temp_file(tmp_path):
    directory, listing = tmp_path / "docker", tmp_path / "listing"
    directory.mkdir()
    result = run_module(
        "docker_daemon_json",
        {"path": str(directory / "daemon.json"), "settings": NVIDIA, "backup": False},
        prefix=full_filesystem(directory, listing),
    )
    assert result["failed"] is True
    assert f"{directory}/daemon.json could not be written: no space left on the filesystem that holds {directory}" in (
        result["msg"]
    )
    assert "[No space left on device]" in result["msg"]
    assert "left as it was" in result["msg"]
    assert "Errno 28" not in result["msg"]
    assert listing.read_text().split() == ["daemon.json", "filler"]


def test_a_full_disk_fails_the_backup_before_any_change_and_leaves_no_partial_copy(tmp_path):
    directory, listing = tmp_path / "docker", tmp_path / "listing"
    directory.mkdir()
    result = run_module(
        "docker_daemon_json",
        {"path": str(directory / "daemon.json"), "settings": NVIDIA},
        prefix=full_filesystem(directory, listing),
    )
    assert result["failed"] is True
    assert f"{directory}/daemon.json could not be backed up to {directory}/daemon.json." in result["msg"]
    assert "no space left on the filesystem" in result["msg"]
    assert listing.read_text().split() == ["daemon.json", "filler"]


def test_replace_drops_a_mirror_no_longer_listed_and_defaults_keep_the_users_values(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"registry-mirrors": ["https://old", "https://kept"], "log-opts": {"max-size": "10m"}}')
    args = {
        "path": str(path),
        "settings": {"registry-mirrors": ["https://kept", "https://new"]},
        "replace": ["registry-mirrors"],
        "defaults": {"log-driver": "json-file", "log-opts": {"max-size": "100m", "max-file": "3"}},
    }
    result = run_module("docker_daemon_json", args)
    assert result["changed"] is True
    config = json.loads(path.read_text())
    assert config["registry-mirrors"] == ["https://kept", "https://new"]
    assert config["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert config["log-driver"] == "json-file"
    assert run_module("docker_daemon_json", args)["changed"] is False


def test_validate_checks_the_merged_file_before_it_is_written(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"log-driver": "json-file"}')
    # STAND-IN validators (grep on the candidate file): the real `dockerd --validate` runs in molecule/toolkit_trixie.
    accepted = run_module(
        "docker_daemon_json", {"path": str(path), "settings": NVIDIA, "validate": "grep -q nvidia-container-runtime %s"}
    )
    assert accepted["changed"] is True and accepted["validated"] is True
    assert json.loads(path.read_text())["runtimes"] == NVIDIA["runtimes"]


def test_a_refused_merge_fails_and_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"log-driver": "json-file"}')
    before = sha256(path)
    refused = run_module(
        "docker_daemon_json",
        {"path": str(path), "settings": NVIDIA, "validate": "sh -c 'echo unknown directive >&2; exit 1' x %s"},
    )
    assert refused.get("failed") is True
    assert f"refused the merged {path} (unknown directive)" in refused["msg"]
    assert sha256(path) == before
    assert not list(tmp_path.glob("*.tmp"))


def test_an_unchanged_file_is_not_validated(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(NVIDIA))
    result = run_module("docker_daemon_json", {"path": str(path), "settings": NVIDIA, "validate": "false %s"})
    assert result["changed"] is False and result["validated"] is False

"""The role's daemon.json against NVIDIA's own `nvidia-ctk runtime configure --runtime=docker`, same inputs.

nvidia-ctk is NVIDIA's real binary, built from the pinned source by tests/fixtures/nvidia_toolkit (cached).
The role's side is the role itself: the `settings` / `remove_matching` its daemon.json tasks use are read from
roles/nvidia_container_toolkit/tasks/docker_runtime.yml (its set_fact) and templated by Ansible with the
role's variables, then applied by the module's own functions (plugins/module_utils/daemon_json.py).
Where the two differ, we chose to; docs/nvidia_ctk_parity.md lists each difference, and each has a test here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import merge, parse, remove_matching
from ansible_run import ROOT, run_module

TASKS = os.path.join(ROOT, "roles", "nvidia_container_toolkit", "tasks", "docker_runtime.yml")
NVIDIA = {"path": "nvidia-container-runtime", "args": []}
USER = {
    "registry-mirrors": ["https://mirror.example.internal"],
    "log-opts": {"max-size": "10m"},
    "runtimes": {"crun": {"path": "/usr/bin/crun"}},
    "data-root": "/mnt/docker",
}


@pytest.fixture(scope="session")
def nvidia_ctk() -> str:
    """NVIDIA's nvidia-ctk 1.20.0 (the fixture builds it once; later calls read the cache)."""
    spec = importlib.util.spec_from_file_location(
        "nvidia_toolkit_build", os.path.join(ROOT, "tests", "fixtures", "nvidia_toolkit", "build.py")
    )
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    try:
        cached = builder.cached_dir() or builder.build(builder.find_tarball(None), None)
    except builder.BuildError as exc:
        pytest.fail(str(exc))
    return os.path.join(cached, "bin", "nvidia-ctk")


def role_arguments(**role_vars) -> dict:
    """The docker_daemon_json arguments the role's tasks compute, templated by Ansible with these variables.

    Defaults: the role's own (default_runtime null) and Docker's CDI feature not wanted (Docker 28.2+ or 20.10).
    """
    with open(TASKS, encoding="utf-8") as handle:
        task = next(t for t in yaml.safe_load(handle) if "ansible.builtin.set_fact" in t)
    variables = {
        "nvidia_container_toolkit_default_runtime": None,
        "__nvidia_container_toolkit_docker_cdi_feature": False,
        **role_vars,
    }
    templar = Templar(loader=DataLoader(), variables=variables)
    facts = {key: templar.template(trust_as_template(value)) for key, value in task["ansible.builtin.set_fact"].items()}
    return {
        "settings": facts["__nvidia_container_toolkit_daemon_settings"],
        "remove_matching": facts["__nvidia_container_toolkit_daemon_remove"],
    }


def role_result(text: str | None, **role_vars) -> dict:
    args = role_arguments(**role_vars)
    return remove_matching(merge(parse(text or ""), args["settings"]), args["remove_matching"])


def ctk(nvidia_ctk: str, path: str, *flags: str, umask: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [nvidia_ctk, "runtime", "configure", "--runtime=docker", f"--config={path}", *flags],
        capture_output=True,
        text=True,
        check=False,
        umask=-1 if umask is None else umask,
    )


def ctk_result(nvidia_ctk: str, tmp_path, text: str | None, *flags: str) -> dict:
    path = tmp_path / "daemon.json"
    if text is not None:
        path.write_text(text)
    result = ctk(nvidia_ctk, str(path), *flags)
    assert result.returncode == 0, result.stderr
    return json.loads(path.read_text())


SAME = {
    "no file yet": None,
    "an empty object": "{}",
    "the user's own keys": json.dumps(USER),
    "a user's own default runtime": json.dumps({**USER, "default-runtime": "crun"}),
    "a hand-set nvidia default runtime": json.dumps({**USER, "default-runtime": "nvidia"}),
    "nvidia already registered as nvidia-ctk writes it": json.dumps({"runtimes": {"nvidia": NVIDIA}}),
}


@pytest.mark.parametrize("text", SAME.values(), ids=SAME.keys())
def test_same_json_as_nvidia_ctk(nvidia_ctk, tmp_path, text):
    assert role_result(text) == ctk_result(nvidia_ctk, tmp_path, text)


@pytest.mark.parametrize("text", SAME.values(), ids=SAME.keys())
def test_same_json_as_nvidia_ctk_set_as_default(nvidia_ctk, tmp_path, text):
    expected = ctk_result(nvidia_ctk, tmp_path, text, "--set-as-default")
    assert expected["default-runtime"] == "nvidia"
    assert role_result(text, nvidia_container_toolkit_default_runtime=True) == expected


@pytest.mark.parametrize("text", SAME.values(), ids=SAME.keys())
def test_same_json_as_nvidia_ctk_enable_cdi(nvidia_ctk, tmp_path, text):
    # Docker 25.0-28.1: the role turns on features.cdi, as `--enable-cdi` does.
    expected = ctk_result(nvidia_ctk, tmp_path, text, "--enable-cdi")
    assert expected["features"] == {"cdi": True}
    assert role_result(text, __nvidia_container_toolkit_docker_cdi_feature=True) == expected


def test_default_runtime_from_the_command_line_is_a_string():
    # `-e nvidia_container_toolkit_default_runtime=false` arrives as the string "false".
    assert role_arguments(nvidia_container_toolkit_default_runtime="false")["remove_matching"] == {
        "default-runtime": "nvidia"
    }
    assert role_arguments(nvidia_container_toolkit_default_runtime="true")["settings"]["default-runtime"] == "nvidia"
    assert role_arguments()["remove_matching"] == {}


# Differences we chose. Each test states what nvidia-ctk does and what the role does instead.


def test_difference_empty_file_is_an_empty_config(nvidia_ctk, tmp_path):
    # dockerd reads a 0-byte daemon.json as no settings; nvidia-ctk's JSON decoder stops at EOF.
    path = tmp_path / "daemon.json"
    path.write_text("")
    result = ctk(nvidia_ctk, str(path))
    assert result.returncode != 0
    assert "EOF" in result.stderr
    assert path.read_text() == ""
    assert role_result("") == {"runtimes": {"nvidia": NVIDIA}}


def test_difference_existing_nvidia_runtime_keeps_its_args(nvidia_ctk, tmp_path):
    # nvidia-ctk rewrites the whole entry (args: []); the role keeps args someone added, and sets the path.
    text = json.dumps({"runtimes": {"nvidia": {"path": "/opt/nvidia/runtime", "args": ["--debug"]}}})
    assert ctk_result(nvidia_ctk, tmp_path, text)["runtimes"]["nvidia"] == NVIDIA
    assert role_result(text)["runtimes"]["nvidia"] == {"path": "nvidia-container-runtime", "args": ["--debug"]}


def test_difference_default_runtime_false_removes_a_hand_set_nvidia(nvidia_ctk, tmp_path):
    # nvidia-ctk without --set-as-default leaves default-runtime alone; the role's false removes `nvidia`
    # (and only `nvidia`: see the user's own default runtime in SAME).
    text = json.dumps({**USER, "default-runtime": "nvidia"})
    assert ctk_result(nvidia_ctk, tmp_path, text)["default-runtime"] == "nvidia"
    assert "default-runtime" not in role_result(text, nvidia_container_toolkit_default_runtime=False)


def test_difference_enable_cdi_keeps_the_users_other_features(nvidia_ctk, tmp_path):
    # nvidia-ctk's EnableCDI asserts features is a map[string]bool, which a decoded JSON object never is, so it
    # replaces the whole object (pkg/config/engine/docker/docker.go): the user's other feature flags are lost.
    text = json.dumps({"features": {"containerd-snapshotter": True}})
    assert ctk_result(nvidia_ctk, tmp_path, text, "--enable-cdi")["features"] == {"cdi": True}
    assert role_result(text, __nvidia_container_toolkit_docker_cdi_feature=True)["features"] == {
        "containerd-snapshotter": True,
        "cdi": True,
    }


def test_difference_new_file_mode_does_not_follow_the_umask(nvidia_ctk, tmp_path):
    # nvidia-ctk creates the file with os.Create (0666 less the umask); the module writes 0644 whatever the
    # umask, so a root umask of 077 cannot leave dockerd's config unreadable to `docker info` users' tools.
    ours, theirs = tmp_path / "ours" / "daemon.json", tmp_path / "theirs" / "daemon.json"
    assert ctk(nvidia_ctk, str(theirs), umask=0o077).returncode == 0
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o600
    old = os.umask(0o077)
    try:
        result = run_module("docker_daemon_json", {"path": str(ours), **role_arguments()})
    finally:
        os.umask(old)
    assert result["changed"], result
    assert stat.S_IMODE(ours.stat().st_mode) == 0o644
    assert json.loads(ours.read_text()) == json.loads(theirs.read_text())


def test_existing_file_mode_is_kept_by_both(nvidia_ctk, tmp_path):
    for name in ("ours", "theirs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "daemon.json").write_text(json.dumps(USER))
        (tmp_path / name / "daemon.json").chmod(0o600)
    assert ctk(nvidia_ctk, str(tmp_path / "theirs" / "daemon.json")).returncode == 0
    result = run_module("docker_daemon_json", {"path": str(tmp_path / "ours" / "daemon.json"), **role_arguments()})
    assert result["changed"], result
    for name in ("ours", "theirs"):
        assert stat.S_IMODE((tmp_path / name / "daemon.json").stat().st_mode) == 0o600, name


def test_difference_text_layout_keeps_the_users_order(nvidia_ctk, tmp_path):
    # Same JSON, different text: nvidia-ctk re-sorts keys (Go maps) with 4-space indents; the module keeps
    # the user's key order with 2-space indents, so a diff shows only what changed.
    text = json.dumps({"log-opts": {"max-size": "10m"}, "data-root": "/mnt/docker"})
    path = tmp_path / "daemon.json"
    path.write_text(text)
    assert ctk(nvidia_ctk, str(path)).returncode == 0
    theirs = path.read_text()
    assert list(json.loads(theirs)) == ["data-root", "log-opts", "runtimes"]
    assert '\n    "data-root"' in theirs
    assert list(role_result(text)) == ["log-opts", "data-root", "runtimes"]

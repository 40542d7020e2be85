"""The docker role's derived variables (vars/main.yml): what the preflight's one probe (dpkg-query, then
systemctl show) tells the later stages, templated by Ansible for states the test hosts are not in."""

from __future__ import annotations

import functools

import pytest
from role_vars import templated as role_var

templated = functools.partial(role_var, "docker")

UPSTREAM = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"]
CE = "5:27.3.1-1~ubuntu.24.04~noble"
# The preflight probe's output on a converged host: dpkg-query's lines, then systemctl show's.
PROBE = ["docker.io installed 20.10.24+dfsg1-1+deb12u1", "MainPID=812", "ActiveState=active", "UnitFileState=enabled"]


def _inputs(source: str, installed: dict, version: str = "", distro=("docker.io",)) -> dict:
    lines = [f"{n} installed {v}" for n, v in installed.items()] + ["docker-ce not-installed "]
    return {
        "__docker_dpkg": {"stdout_lines": lines},
        "__docker_source": source,
        "docker_version": version,
        "docker_upstream_packages": UPSTREAM,
        "docker_distro_packages": list(distro),
    }


@pytest.mark.parametrize(
    ("source", "installed", "version", "distro", "present"),
    [
        ("distro", {"docker.io": "20.10.24+dfsg1-1+deb12u1"}, "", ["docker.io"], True),
        ("distro", {"containerd": "1.6.20~ds1-1+b1"}, "", ["docker.io"], False),
        # A pin in docker_distro_packages holds only at that version.
        ("distro", {"docker.io": "20.10.24+dfsg1-1+deb12u1"}, "", ["docker.io=20.10.24+dfsg1-1+deb12u1"], True),
        ("distro", {"docker.io": "20.10.24+dfsg1-1+deb12u1"}, "", ["docker.io=26.1.5+dfsg1-9"], False),
        ("upstream", dict.fromkeys(UPSTREAM, CE), CE, [], True),
        ("upstream", dict.fromkeys(UPSTREAM, CE), "5:28.0.0-1~ubuntu.24.04~noble", [], False),
        ("upstream", {n: "1" for n in UPSTREAM if n != "containerd.io"}, "", [], False),
    ],
)
def test_apt_is_skipped_only_where_it_would_do_nothing(source, installed, version, distro, present):
    assert templated("__docker_packages_present", **_inputs(source, installed, version, distro)) is present


def test_moby_engine_is_read_from_the_same_query():
    inputs = _inputs("moby", {"moby-engine": "24.0.9-ubuntu22.04u1"})
    assert templated("__docker_moby_version", **inputs) == "24.0.9-ubuntu22.04u1"
    assert templated("__docker_moby_version", **_inputs("distro", {"docker.io": "20.10"})) == ""


def test_service_state_comes_from_the_earlier_probe_unless_the_packages_were_installed():
    probe = {"__docker_dpkg": {"stdout_lines": PROBE}}
    assert templated("__docker_unit_before", **probe) == {
        "MainPID": "812",
        "ActiveState": "active",
        "UnitFileState": "enabled",
    }
    # The packages are read from the same output, without the unit's lines.
    assert templated("__docker_installed", **probe) == {"docker.io": "20.10.24+dfsg1-1+deb12u1"}
    skipped = {"__docker_state": {"skipped": True}}
    assert templated("__docker_active_state", **probe, **skipped) == "active"
    asked = {"__docker_state": {"stdout_lines": ["MainPID=0", "ActiveState=activating", "UnitFileState=enabled"]}}
    assert templated("__docker_active_state", **probe, **asked) == "activating"
    assert templated("__docker_unit_now", **probe, **asked)["MainPID"] == "0"
    # Outside the role's service stage (--tags docker_install) the earlier probe is all there is.
    assert templated("__docker_active_state", **probe) == "active"


def test_the_restart_handler_reads_the_pid_only_where_the_service_stage_did_not():
    before = {"__docker_dpkg": {"stdout_lines": PROBE}}
    installed = {"__docker_state": {"stdout_lines": ["MainPID=1604", "ActiveState=active", "UnitFileState=enabled"]}}
    # The package's install started a new engine, which read the new daemon.json: not the one to restart.
    assert templated("__docker_pid_at_handler", **before, **installed, __docker_pid_now={"skipped": True}) == "1604"
    # The handler asked (Docker was started or nothing was installed): its answer wins.
    asked = {"__docker_pid_now": {"stdout": "812"}}
    assert templated("__docker_pid_at_handler", **before, **installed, **asked) == "812"
    assert templated("__docker_pid_at_handler", **before, __docker_state={"skipped": True}, **asked) == "812"
    # Whether the handler asks at all.
    started = {"__docker_started": {"changed": True}}
    assert templated("__docker_pid_read_after_install", **installed, __docker_started={"skipped": True}) is True
    assert templated("__docker_pid_read_after_install", **installed, **started) is False
    assert templated("__docker_pid_read_after_install", __docker_state={"skipped": True}) is False
    assert templated("__docker_pid_read_after_install") is False


def test_only_other_source_files_naming_dockers_host_are_conflict_candidates():
    lines = [*PROBE, "/etc/apt/sources.list.d/docker.sources", "/etc/apt/sources.list.d/docker.list"]
    assert templated("__docker_other_sources", __docker_dpkg={"stdout_lines": lines}) == [
        "/etc/apt/sources.list.d/docker.list"
    ]
    assert templated("__docker_other_sources", __docker_dpkg={"stdout_lines": lines[:-1]}) == []

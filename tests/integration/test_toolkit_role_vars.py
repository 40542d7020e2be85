"""The nvidia_container_toolkit role's derived variables (vars/main.yml), templated by Ansible for Docker
versions the test hosts do not have (28.2+, no Docker yet) as well as those they do (20.10, 26.1)."""

from __future__ import annotations

import functools

import pytest
from role_vars import templated as role_var

templated = functools.partial(role_var, "nvidia_container_toolkit")


def probe(dockerd_stdout: str) -> dict:
    """The preflight's probe: dpkg-query's lines, then what dockerd --version printed."""
    return {"stdout": "nvidia-container-toolkit installed 1.20.0-1\n" + dockerd_stdout}


@pytest.mark.parametrize(
    ("dockerd_stdout", "version"),
    [
        ("Docker version 20.10.24+dfsg1, build 297e128", "20.10.24"),
        ("Docker version 26.1.5+dfsg1, build a72d7cd", "26.1.5"),
        ("Docker version 28.2.2, build e6534b4", "28.2.2"),
        ("", "0"),  # not installed yet
    ],
)
def test_docker_version_is_read_from_dockerd(dockerd_stdout, version):
    assert (
        templated(
            "__nvidia_container_toolkit_docker_version", __nvidia_container_toolkit_installed=probe(dockerd_stdout)
        )
        == version
    )


@pytest.mark.parametrize(
    ("dockerd_stdout", "cdi_enabled", "expected"),
    [
        ("Docker version 20.10.24+dfsg1, build 297e128", True, False),  # no CDI before 25
        ("Docker version 25.0.0, build e758fe5", True, True),
        ("Docker version 26.1.5+dfsg1, build a72d7cd", True, True),
        ("Docker version 28.1.1, build 4eba377", True, True),
        ("Docker version 28.2.0, build 4eba377", True, False),  # on by default from 28.2
        ("", True, True),  # Docker comes later: set it, dockerd before 25 ignores it
        ("Docker version 26.1.5+dfsg1, build a72d7cd", False, False),
    ],
)
def test_docker_cdi_feature_only_where_docker_needs_it(dockerd_stdout, cdi_enabled, expected):
    value = templated(
        "__nvidia_container_toolkit_docker_cdi_feature",
        __nvidia_container_toolkit_installed=probe(dockerd_stdout),
        nvidia_container_toolkit_cdi_enabled=cdi_enabled,
    )
    assert value is expected


def _dpkg(**versions) -> dict:
    """The preflight's dpkg-query result: these packages installed at these versions, the rest not."""
    names = [
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
    ]
    lines = [f"{n} installed {versions[n]}" if n in versions else f"{n} not-installed " for n in names]
    return {"__nvidia_container_toolkit_installed": {"stdout_lines": lines}}


ALL_AT_PIN = {
    n: "1.20.0-1"
    for n in [
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
    ]
}


@pytest.mark.parametrize(
    ("installed", "pin", "present"),
    [
        (ALL_AT_PIN, "1.20.0-1", True),
        (ALL_AT_PIN, "1.18.0-1", False),  # another pin: apt has work to do
        ({**ALL_AT_PIN, "libnvidia-container1": "1.17.8-1"}, "1.20.0-1", False),  # one package off the pin
        ({k: v for k, v in ALL_AT_PIN.items() if k != "libnvidia-container-tools"}, "1.20.0-1", False),
        ({"nvidia-container-toolkit": "1.17.8-1"}, "", True),  # unpinned: installed is enough
        ({}, "", False),
    ],
)
def test_apt_is_skipped_only_where_it_would_do_nothing(installed, pin, present):
    value = templated("__nvidia_container_toolkit_present", nvidia_container_toolkit_version=pin, **_dpkg(**installed))
    assert value is present


def test_the_cve_check_reads_the_version_apt_just_installed():
    before = {**_dpkg(**{"nvidia-container-toolkit-base": "1.17.7-1"}), "nvidia_container_toolkit_version": ""}
    assert templated("__nvidia_container_toolkit_installed_version", **before) == "1.17.7-1"
    after = {"__nvidia_container_toolkit_installed_after": {"stdout": "1.20.0-1", "skipped": False}}
    assert templated("__nvidia_container_toolkit_installed_version", **before, **after) == "1.20.0-1"
    # Pinned, apt installed the pin and nobody asked dpkg again.
    pinned = {"nvidia_container_toolkit_version": "1.18.1-1", "__nvidia_container_toolkit_apt": {"changed": True}}
    skipped = {"__nvidia_container_toolkit_installed_after": {"skipped": True}}
    assert templated("__nvidia_container_toolkit_installed_version", **{**before, **pinned, **skipped}) == "1.18.1-1"
    # Pinned but apt had nothing to do: what dpkg had.
    untouched = {**pinned, "__nvidia_container_toolkit_apt": {"skipped": True}}
    assert templated("__nvidia_container_toolkit_installed_version", **{**before, **untouched, **skipped}) == "1.17.7-1"


@pytest.mark.parametrize(
    ("service_mgr", "line", "loaded"),
    [
        ("systemd", "docker.service LoadState=loaded", True),
        ("systemd", "docker.service LoadState=not-found", False),
        # systemctl missing or silent: no unit to restart.
        ("systemd", "docker.service LoadState=", False),
        ("sysvinit", "docker.service LoadState=loaded", False),
    ],
)
def test_docker_is_restarted_only_where_systemd_has_its_unit(service_mgr, line, loaded):
    probe_lines = {"__nvidia_container_toolkit_installed": {"stdout_lines": ["Docker version 26.1.5+dfsg1", line]}}
    facts = {"ansible_facts": {"service_mgr": service_mgr}}
    assert templated("__nvidia_container_toolkit_docker_unit_loaded", **probe_lines, **facts) is loaded


def test_only_other_source_files_naming_nvidias_host_are_conflict_candidates():
    # The probe's grep lists every source file naming the host, the role's own among them.
    lines = [
        "nvidia-container-toolkit installed 1.20.0-1",
        "Docker version 26.1.5+dfsg1, build a72d7cd",
        "docker.service LoadState=loaded",
        "/etc/apt/sources.list.d/nvidia-container-toolkit.sources",
        "/etc/apt/sources.list.d/nvidia-container-toolkit.list",
    ]
    found = templated(
        "__nvidia_container_toolkit_other_sources", __nvidia_container_toolkit_installed={"stdout_lines": lines}
    )
    assert found == ["/etc/apt/sources.list.d/nvidia-container-toolkit.list"]
    alone = {"stdout_lines": lines[:4]}
    assert templated("__nvidia_container_toolkit_other_sources", __nvidia_container_toolkit_installed=alone) == []

"""The nvidia_container_toolkit role's derived variables (vars/main.yml), templated by Ansible for Docker
versions the test hosts do not have (28.2+, no Docker yet) as well as those they do (20.10, 26.1)."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_run import ROOT

VARS = os.path.join(ROOT, "roles", "nvidia_container_toolkit", "vars", "main.yml")


def templated(name: str, **variables):
    with open(VARS, encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    # Role vars refer to each other: hand Ansible all of them, as untemplated (trusted) strings.
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in role_vars.items()}
    templar = Templar(loader=DataLoader(), variables={**trusted, **variables})
    return templar.template(trusted[name])


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
            "__nvidia_container_toolkit_docker_version", __nvidia_container_toolkit_dockerd={"stdout": dockerd_stdout}
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
        __nvidia_container_toolkit_dockerd={"stdout": dockerd_stdout},
        nvidia_container_toolkit_cdi_enabled=cdi_enabled,
    )
    assert value is expected

"""The doctor's and the fleet report's plugins document themselves: ansible-doc renders each without an error."""

import os
import subprocess

import pytest
from ansible_run import ROOT, _env, cli


@pytest.mark.parametrize(
    ("kind", "name"),
    [("module", "gpu_doctor_facts"), ("module", "fleet_report"), ("filter", "fleet_row")],
)
def test_ansible_doc_renders(kind, name):
    proc = subprocess.run(
        [cli("ansible-doc"), "-t", kind, f"gpuhost.provision.{name}"],
        capture_output=True,
        text=True,
        check=False,
        env=_env(ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "integration", "ansible.cfg")),
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr, proc.stderr
    assert f"gpuhost.provision.{name}" in proc.stdout

"""playbooks/doctor.yml for real through ansible-playbook on this machine: read-only, reports beside the user's
inventory, the fleet table, and a verdict that fails on errors (and on warnings only when asked).

The host is read below a copy of the captured H100 tree (gpu_doctor_root), clean or with one fault injected
(tests/doctor_faults.py), and once for real: this machine has no NVIDIA GPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET

import pytest
from ansible_run import LOCAL_GPU_HOSTS, ROOT, run_in_project
from doctor_faults import edited_copy


def tree_digest(root) -> str:
    """One hash over every file's path, content and mtime below root."""
    digest = hashlib.sha256()
    for directory, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            digest.update(path.encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
            digest.update(str(os.stat(path).st_mtime_ns).encode())
    return digest.hexdigest()


def doctor(project, *args):
    """ansible-playbook playbooks/doctor.yml with an inventory in the user's project directory."""
    inventory = project / "inventory" / "hosts.yml"
    inventory.parent.mkdir(parents=True, exist_ok=True)
    inventory.write_text(LOCAL_GPU_HOSTS)
    return run_in_project("playbooks/doctor.yml", inventory, project, *args)


def recap(output: str) -> dict:
    line = output.rsplit("PLAY RECAP", 1)[1].splitlines()[1]
    return {key: int(value) for key, value in (item.split("=") for item in line.split(":", 1)[1].split())}


@pytest.fixture
def project(tmp_path):
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


def test_a_healthy_host_passes_changes_nothing_and_is_reported_beside_the_inventory(tmp_path, project):
    tree = edited_copy(str(tmp_path / "host"))
    before = tree_digest(tree.root)
    result = doctor(project, "-e", f"gpu_doctor_root={tree.root}")
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap(result.stdout)["changed"] == 0
    assert tree_digest(tree.root) == before
    reports = project / "inventory" / "reports"
    doc = json.loads((reports / "localhost" / "doctor.json").read_text())
    assert doc["verdict"] == "pass"
    assert doc["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert {f["id"] for f in doc["findings"]} >= {"gpu.pcie_link", "driver.library_mismatch", "containers.cdi"}
    assert doc["facts"]["loaded_driver_version"] == "580.159.04"
    assert "**Verdict: PASS**" in (reports / "localhost" / "doctor.md").read_text()
    assert (
        "| localhost | NVIDIA H100 80GB HBM3 | 1 | 580.159.04 | 1.20.0-1 | PASS |"
        in (reports / "doctor-fleet.md").read_text()
    )
    junit = ET.parse(reports / "doctor-fleet.junit.xml").getroot()  # noqa: S314 - the file the play just wrote
    cases = junit.findall("testsuite/testcase")
    assert {c.get("name") for c in cases} == {f["id"] for f in doc["findings"]}
    assert not junit.findall(".//failure")
    # Nothing inside the collection.
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "reports"))


def test_check_mode_runs_the_same_examination(tmp_path, project):
    tree = edited_copy(str(tmp_path / "host"))
    before = tree_digest(tree.root)
    result = doctor(project, "--check", "-e", f"gpu_doctor_root={tree.root}")
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap(result.stdout)["changed"] == 0
    assert tree_digest(tree.root) == before
    assert (
        json.loads((project / "inventory" / "reports" / "localhost" / "doctor.json").read_text())["verdict"] == "pass"
    )


def test_an_error_fails_the_play_after_the_reports_are_written(tmp_path, project):
    tree = edited_copy(str(tmp_path / "host"), "PCIe width downgraded")
    result = doctor(project, "-e", f"gpu_doctor_root={tree.root}")
    assert result.returncode != 0
    words = " ".join(result.stdout.split())
    assert "finding(s) at or above 'error': gpu.pcie_link" in words
    assert recap(result.stdout)["changed"] == 0
    reports = project / "inventory" / "reports"
    assert json.loads((reports / "localhost" / "doctor.json").read_text())["verdict"] == "fail"
    junit = ET.parse(reports / "doctor-fleet.junit.xml").getroot()  # noqa: S314 - the file the play just wrote
    assert [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None] == ["gpu.pcie_link"]


def test_warnings_pass_by_default_and_fail_when_the_threshold_is_warning(tmp_path, project):
    tree = edited_copy(str(tmp_path / "host"), "persistence mode off", "MIG on")
    result = doctor(project, "-e", f"gpu_doctor_root={tree.root}")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "localhost: WARN" in result.stdout
    result = doctor(project, "-e", f"gpu_doctor_root={tree.root}", "-e", "gpu_doctor_fail_on=warning")
    assert result.returncode != 0
    assert "driver.persistence_mode, gpu.mig" in " ".join(result.stdout.split())


def test_on_this_gpu_less_machine_the_doctor_says_there_is_no_gpu(project):
    dpkg = "/var/lib/dpkg/status"
    before = os.stat(dpkg).st_mtime_ns if os.path.exists(dpkg) else None
    result = doctor(project)
    assert result.returncode != 0
    words = " ".join(result.stdout.split())
    assert "No NVIDIA GPU on this host" in words
    assert "Traceback" not in result.stdout
    assert recap(result.stdout)["changed"] == 0
    assert (os.stat(dpkg).st_mtime_ns if os.path.exists(dpkg) else None) == before
    doc = json.loads((project / "inventory" / "reports" / "localhost" / "doctor.json").read_text())
    assert [f["id"] for f in doc["findings"] if f["severity"] == "error"] == ["gpu.present"]

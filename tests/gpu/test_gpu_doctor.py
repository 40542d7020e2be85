"""On a real GPU host: playbooks/doctor.yml against localhost, and each finding checked against what this test reads
by hand (nvidia-smi's CSV, sysfs, procfs). Skipped where no NVIDIA GPU answers. Runs in well under a minute.

    sudo python3 -m pytest -m gpu tests/gpu/test_gpu_doctor.py

GPUHOST_DOCTOR_COPY=DIR also keeps the doctor's reports, the play's output and a fresh capture
(tools/capture_gpu_fixtures.py) there, to bring back as fixtures and for the closing note.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_findings import judge
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_sources import collect
from ansible_run import LOCAL_GPU_HOSTS, run_in_project
from doctor_faults import run_capture

PROBE = ["nvidia-smi", "-L"]


def _smi_works() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(PROBE, capture_output=True, check=False).returncode == 0


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _smi_works(), reason="no NVIDIA GPU here: nvidia-smi is missing or finds no GPU"),
]
GEN = {"2.5": 1, "5.0": 2, "8.0": 3, "16.0": 4, "32.0": 5, "64.0": 6}


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def smi_csv(fields: str) -> list[list[str]]:
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(out)) if row]


@pytest.fixture(scope="module")
def doctor(tmp_path_factory):
    """One doctor run for every test below: (play output, return code, doctor.json, the reports directory)."""
    project = tmp_path_factory.mktemp("doctor")
    inventory = project / "inventory" / "hosts.yml"
    inventory.parent.mkdir()
    inventory.write_text(LOCAL_GPU_HOSTS)
    # fail_on=never: this test checks what the doctor says, whatever the host's health.
    proc = run_in_project("playbooks/doctor.yml", inventory, project, "-e", "gpu_doctor_fail_on=never", timeout=300)
    reports = inventory.parent / "reports"
    saved = os.environ.get("GPUHOST_DOCTOR_COPY")
    if saved:
        os.makedirs(saved, exist_ok=True)
        if reports.is_dir():
            shutil.copytree(reports, os.path.join(saved, "reports"), dirs_exist_ok=True)
        with open(os.path.join(saved, "doctor.log"), "w", encoding="utf-8") as handle:
            handle.write(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    doc = json.loads((reports / "localhost" / "doctor.json").read_text())
    return proc.stdout, doc, reports


def by_id(doc) -> dict:
    return {f["id"]: f for f in doc["findings"]}


def test_the_play_changes_nothing_and_writes_every_report(doctor):
    output, doc, reports = doctor
    recap = output.rsplit("PLAY RECAP", 1)[1]
    assert "changed=0" in recap
    assert "failed=0" in recap
    for name in ("localhost/doctor.md", "doctor-fleet.md", "doctor-fleet.json", "doctor-fleet.junit.xml"):
        assert (reports / name).is_file(), name
    assert "| localhost |" in (reports / "doctor-fleet.md").read_text()


def test_gpus_and_driver_are_what_nvidia_smi_and_procfs_say(doctor):
    _output, doc, _reports = doctor
    rows = smi_csv("index,name,uuid,pci.bus_id,driver_version,persistence_mode,mig.mode.current")
    facts = doc["facts"]
    assert [g["uuid"] for g in facts["smi"]["gpus"]] == [r[2] for r in rows]
    assert [g["name"] for g in facts["smi"]["gpus"]] == [r[1] for r in rows]
    assert doc["gpu_count"] == len(rows)
    version = read("/proc/driver/nvidia/version")
    assert doc["driver_version"] and doc["driver_version"] in version
    assert doc["driver_version"] == rows[0][4]
    found = by_id(doc)
    assert found["driver.loaded"]["severity"] == "ok"
    assert found["driver.nvidia_smi"]["severity"] == "ok"
    # Persistence mode: the finding agrees with nvidia-smi's own column.
    off = [r[0] for r in rows if r[5] == "Disabled"]
    assert found["driver.persistence_mode"]["severity"] == ("warning" if off else "ok")
    mig_on = [r[0] for r in rows if r[6] == "Enabled"]
    assert found["gpu.mig"]["severity"] == ("warning" if mig_on else "ok")


def test_gpu_count_on_the_pci_bus_is_what_sysfs_says(doctor):
    _output, doc, _reports = doctor
    by_hand = []
    for device in sorted(os.listdir("/sys/bus/pci/devices")):
        base = f"/sys/bus/pci/devices/{device}"
        if read(f"{base}/vendor") == "0x10de" and (read(f"{base}/class") or "").startswith("0x03"):
            by_hand.append(device)
    assert [d["address"] for d in doc["facts"]["pci"]["gpus"]] == by_hand
    smi_count = len(smi_csv("index"))
    severity = by_id(doc)["gpu.count"]["severity"]
    assert severity == ("ok" if len(by_hand) == smi_count else "error")


def test_pcie_links_are_what_sysfs_and_nvidia_smi_say(doctor):
    _output, doc, _reports = doctor
    rows = smi_csv("pci.bus_id,pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,pcie.link.width.max")
    # nvidia-smi's figures, as the doctor read them from its XML.
    for gpu, row in zip(doc["facts"]["smi"]["gpus"], rows, strict=True):
        assert gpu["pcie"]["current_gen"] == int(row[1])
        assert gpu["pcie"]["current_width"] == int(row[3])
        assert gpu["pcie"]["max_width"] == int(row[4])
    # sysfs, read here by hand.
    for device in doc["facts"]["pci"]["gpus"]:
        base = f"/sys/bus/pci/devices/{device['address']}"
        link = device["link"]
        assert link["current_width"] == int(read(f"{base}/current_link_width"))
        assert link["max_width"] == int(read(f"{base}/max_link_width"))
        assert link["current_gen"] == GEN[read(f"{base}/current_link_speed").split()[0]]
        assert link["max_gen"] == GEN[read(f"{base}/max_link_speed").split()[0]]
    narrow = any(int(r[3]) < int(r[4]) for r in rows)
    slow = any(int(r[1]) < int(r[2]) for r in rows)
    expected = "error" if narrow else "warning" if slow else "ok"
    assert by_id(doc)["gpu.pcie_link"]["severity"] == expected


def test_modules_and_uvm_are_what_proc_modules_and_dev_say(doctor):
    _output, doc, _reports = doctor
    modules = {line.split()[0] for line in read("/proc/modules").splitlines()}
    assert set(doc["facts"]["modules"]) == modules
    found = by_id(doc)
    uvm_ok = "nvidia_uvm" in modules and os.path.exists("/dev/nvidia-uvm")
    assert found["driver.nvidia_uvm"]["severity"] == ("ok" if uvm_ok else "error")
    assert found["driver.nouveau"]["severity"] == ("error" if "nouveau" in modules else "ok")


def test_throttle_ecc_and_remap_findings_agree_with_nvidia_smi(doctor):
    _output, doc, _reports = doctor
    reasons = ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown")
    try:  # driver 535+ names them clocks_event_reasons; older drivers clocks_throttle_reasons
        rows = smi_csv(
            ",".join(f"clocks_event_reasons.{r}" for r in reasons) + ",ecc.errors.uncorrected.volatile.total"
        )
    except subprocess.CalledProcessError:
        rows = smi_csv(
            ",".join(f"clocks_throttle_reasons.{r}" for r in reasons) + ",ecc.errors.uncorrected.volatile.total"
        )
    found = by_id(doc)
    hw = any(cell == "Active" for row in rows for cell in row[:3])
    assert (found["gpu.throttle"]["severity"] == "error") == hw
    ecc = [row[3] for row in rows]
    volatile = sum(int(v) for v in ecc if v.isdigit())
    assert (found["gpu.ecc"]["severity"] == "error") == (volatile > 0)
    assert found["gpu.memory_remap"]["severity"] in ("ok", "warning", "error")


def test_xid_finding_matches_the_kernel_log_read_by_hand(doctor):
    _output, doc, _reports = doctor
    found = by_id(doc)["gpu.xid"]
    log = doc["facts"]["kernel_log"]
    if log["source"] is None:
        assert found["severity"] == "skipped"
        pytest.skip(f"kernel log not readable here: {log['error']}")
    text = subprocess.run(log["source"].split(), capture_output=True, text=True, check=False).stdout
    by_hand = [line for line in text.splitlines() if "NVRM: Xid" in line]
    assert len(log["xid"]) == len(by_hand)
    assert (found["severity"] == "ok") == (not by_hand)


def test_a_fresh_capture_reads_as_the_live_host(tmp_path, doctor):
    """tools/capture_gpu_fixtures.py saves what the doctor reads: judging the capture gives the live verdicts."""
    _output, doc, _reports = doctor
    out = tmp_path / "capture"
    proc = run_capture(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = os.environ.get("GPUHOST_DOCTOR_COPY")
    if saved:
        shutil.copytree(out, os.path.join(saved, "capture"), dirs_exist_ok=True)
    captured = {f["id"]: f["severity"] for f in judge(collect(str(out)))}
    live = {f["id"]: f["severity"] for f in doc["findings"] if f["id"] != "containers.daemon_reload"}
    # Free space and the kernel log move between the two reads; everything else must agree.
    moving = {"containers.data_root_space", "gpu.xid"}
    assert {k: v for k, v in captured.items() if k not in moving} == {k: v for k, v in live.items() if k not in moving}

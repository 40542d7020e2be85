"""On a real GPU host: the roles against the driver that is loaded. Skipped where no NVIDIA GPU answers.

Run as root on the GPU host: `make gpu-test` (what the device tool ran for the closing notes).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest
from ansible_run import ROOT, run_playbook


def _smi_works() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True, check=False).returncode == 0


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _smi_works(), reason="no NVIDIA GPU here: nvidia-smi is missing or finds no GPU"),
]
LOCAL = "inventories/local/hosts.yml"


def smi_rows() -> list[dict]:
    """nvidia-smi's own CSV, read here independently of the module's parser."""
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=index,name,uuid,memory.total,compute_cap", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        dict(zip(["index", "name", "uuid", "memory", "cc"], (c.strip() for c in row), strict=True))
        for row in csv.reader(io.StringIO(out))
        if row
    ]


def test_gpu_facts_report_the_gpus_exactly_as_nvidia_smi_does(tmp_path):
    dest = tmp_path / "facts.json"
    result = run_playbook("tests/gpu/gpu_facts.yml", LOCAL, "-e", f"dest={dest}")
    assert result.returncode == 0, result.stdout[-3000:]
    facts = json.loads(dest.read_text())
    rows = smi_rows()
    assert facts["gpu_count"] == len(rows) > 0
    for gpu, row in zip(facts["gpus"], rows, strict=True):
        assert gpu["index"] == int(row["index"])
        assert gpu["name"] == row["name"]
        assert gpu["uuid"] == row["uuid"]
        assert gpu["memory_total_mib"] == int(row["memory"])
        assert gpu["compute_capability"] == row["cc"]
    with open("/proc/driver/nvidia/version", encoding="utf-8") as handle:
        assert facts["driver_version"] in handle.read()
    banner = subprocess.run(["nvidia-smi"], capture_output=True, text=True, check=True).stdout
    assert f"CUDA Version: {facts['cuda_version']}" in banner
    # Every GPU nvidia-smi lists is on the PCI bus too (the count gpu_verify compares).
    assert len(facts["pci_devices"]) == len(rows)


def test_driver_role_leaves_the_loaded_driver_alone():
    result = run_playbook("playbooks/site.yml", LOCAL, "--tags", "driver")
    assert result.returncode == 0, result.stdout[-4000:]
    words = " ".join(result.stdout.split())  # the callback wraps long messages
    assert "is loaded (>= 535) with" in words
    assert "nothing to install" in words
    assert "changed=0" in words
    assert "failed=0" in words


def test_verify_playbook_passes_and_writes_the_report():
    result = run_playbook("playbooks/verify.yml", LOCAL)
    # gpu_verify_fetch_dir's default: reports/ beside the inventory.
    report_dir = os.path.join(ROOT, os.path.dirname(LOCAL), "reports", "localhost")
    saved = os.environ.get("GPUHOST_REPORT_COPY")
    if saved and os.path.isdir(report_dir):
        shutil.copytree(report_dir, saved, dirs_exist_ok=True)
        with open(os.path.join(saved, "verify.log"), "w", encoding="utf-8") as handle:
            handle.write(result.stdout)
    assert result.returncode == 0, result.stdout[-4000:]
    with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert report["verdict"] == "pass"
    assert len(report["gpus"]) == len(smi_rows())
    assert report["ddp"]["ddp_params_equal"] is True
    assert report["ddp"]["allreduce_sum_ok"] is True
    judged = {check["figure"] for check in report["checks"]}
    assert {"fp32_tflops", "tf32_tflops", "fp16_tflops", "bf16_tflops"} <= judged
    gpus = len(smi_rows())
    assert report["ddp"]["world_size"] == gpus
    if gpus > 1:
        # DDP over every GPU, busbw judged against the row of the interconnect topo -m shows (issue 13).
        assert report["topology"]["kind"] in ("nvlink", "pcie"), report["topology"]
        busbw = [check for check in report["checks"] if check["figure"] == "busbw_gbps"]
        assert busbw, "no busbw check: is the GPU model in gpu_verify_expected?"
        assert busbw[0]["row"].endswith(f"busbw_{report['topology']['kind']}_gbps")
    else:
        assert report["topology"]["kind"] == "single"
        assert report["ddp"]["busbw_gbps"] is None

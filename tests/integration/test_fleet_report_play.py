"""The fleet report play that site.yml and verify.yml import: one table from what gpu_verify left on each host.

Two hosts on this machine (local connection): gpu-a carries a gpu_verify report as the role registers it,
gpu-b none (it failed before its report). The play must list both, and gpu-b as failing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import yaml
from ansible_run import run_in_project

REPORT = {
    "verdict": "pass",
    "driver_version": "580.95.05",
    "toolkit_version": "1.20.0",
    "toolkit_open_cves": [],
    "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3"}],
    "bench": {"gpus": [{"index": 0, "bf16_tflops": 788.9}]},
    "checks": [
        {
            "subject": "GPU 0 (NVIDIA H100 80GB HBM3)",
            "figure": "bf16_tflops",
            "value": 788.9,
            "unit": "TFLOP/s",
            "expected_min": 500,
            "threshold": 450.0,
            "ok": True,
        },
    ],
    "ddp": {"world_size": 1, "ddp_params_equal": True, "allreduce_sum_ok": True, "busbw_gbps": None},
    "unknown_models": [],
}


def test_the_fleet_play_lists_every_host_with_its_checks(tmp_path):
    host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory = {
        "gpu_hosts": {
            "hosts": {
                "gpu-a": {**host, "__gpu_verify_report": {"report": REPORT}, "nvidia_driver_reboot_pending": False},
                "gpu-b": dict(host),
            }
        }
    }
    path = tmp_path / "inv" / "hosts.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(inventory))
    result = run_in_project("playbooks/fleet_report.yml", path, tmp_path, "-e", "gpuhost_fleet_name=verify")
    assert result.returncode == 0, result.stdout[-4000:]
    reports = tmp_path / "inv" / "reports"
    markdown = (reports / "verify-fleet.md").read_text()
    assert (
        "| gpu-a | NVIDIA H100 80GB HBM3 | 1 | 580.95.05 | 1.20.0 | PASS | bf16 TFLOP/s (min) 788.9 | no |" in markdown
    )
    assert "| gpu-b | n/a | n/a | n/a | n/a | FAIL |" in markdown
    junit = ET.parse(reports / "verify-fleet.junit.xml").getroot()  # noqa: S314 - the file the play just wrote
    cases = {(c.get("classname"), c.get("name")): c for c in junit.iter("testcase")}
    assert set(cases) == {
        ("verify.gpu-a", "GPU 0 (NVIDIA H100 80GB HBM3) bf16_tflops"),
        ("verify.gpu-a", "DDP and all-reduce"),
        ("verify.gpu-a", "toolkit security fixes"),
        ("verify.gpu-b", "report"),
    }
    assert cases[("verify.gpu-b", "report")].find("failure") is not None
    assert cases[("verify.gpu-a", "DDP and all-reduce")].find("failure") is None
    data = json.loads((reports / "verify-fleet.json").read_text())
    assert data["totals"]["fail"] == 1
    assert [h["host"] for h in data["hosts"]] == ["gpu-a", "gpu-b"]

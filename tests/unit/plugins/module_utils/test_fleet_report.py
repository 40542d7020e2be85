"""The fleet report: one table for all hosts in Markdown and JSON, and JUnit XML with a testcase per host and check."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.fleet_report import (
    FleetReportError,
    build,
    render_json,
    render_junit,
    render_markdown,
    row_from_gpu_verify,
    totals,
)

ROWS = [
    {
        "host": "gpu-b",
        "gpu_model": "NVIDIA H100 80GB HBM3",
        "gpu_count": 8,
        "driver": "580.95.05",
        "toolkit": "1.20.0-1",
        "figures": {"bf16 TFLOP/s (min)": 788.9},
        "reboot_pending": False,
        "checks": [
            {"name": "gpu.pcie_link", "status": "ok", "message": "Gen5 x16"},
            {"name": "gpu.xid", "status": "error", "message": "Xid 79 | fell off the bus <GPU 3>"},
            {"name": "driver.persistence_mode", "status": "warning", "message": "off on GPU 2"},
            {"name": "gpu.fabric_manager", "status": "skipped", "message": "no NVSwitch"},
        ],
    },
    {"host": "gpu-a", "gpu_count": 1, "checks": [{"name": "gpu.ecc", "status": "ok", "message": ""}]},
]


def test_rows_are_sorted_normalised_and_get_a_verdict_from_their_worst_check():
    rows = build(ROWS)
    assert [r["host"] for r in rows] == ["gpu-a", "gpu-b"]
    assert rows[0]["verdict"] == "pass"
    assert rows[1]["verdict"] == "fail"
    assert rows[0]["driver"] is None  # every column present
    assert totals(rows) == {
        "hosts": 2,
        "pass": 1,
        "warn": 0,
        "fail": 1,
        "ok": 2,
        "warning": 1,
        "error": 1,
        "skipped": 1,
    }


def test_a_host_that_never_reported_gets_a_failing_row():
    rows = build(ROWS, hosts=["gpu-a", "gpu-b", "gpu-c"], missing_message="unreachable")
    missing = rows[2]
    assert missing["host"] == "gpu-c"
    assert missing["verdict"] == "fail"
    assert missing["checks"] == [{"name": "report", "status": "error", "message": "unreachable"}]


@pytest.mark.parametrize("row", [{"checks": []}, {"host": "x", "checks": [{"name": "c", "status": "bad"}]}])
def test_bad_rows_are_refused_with_the_reason(row):
    with pytest.raises(FleetReportError):
        build([row])


def test_junit_has_one_testcase_per_host_and_check_and_a_failure_per_error():
    rows = build(ROWS, hosts=["gpu-c"])
    root = ET.fromstring(render_junit(rows, "doctor"))  # noqa: S314 - the XML this test just rendered
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["doctor.gpu-a", "doctor.gpu-b", "doctor.gpu-c"]
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    expected = [(f"doctor.{r['host']}", c["name"]) for r in rows for c in r["checks"]]
    assert cases == expected
    assert int(root.get("tests")) == len(expected) == 6
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["gpu.xid", "report"]
    assert int(root.get("failures")) == 2
    xid = next(c for c in root.iter("testcase") if c.get("name") == "gpu.xid")
    assert xid.find("failure").get("message") == "Xid 79 | fell off the bus <GPU 3>"  # escaped, read back intact
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["gpu.fabric_manager"]
    warned = next(c for c in root.iter("testcase") if c.get("name") == "driver.persistence_mode")
    assert warned.find("failure") is None
    assert "warning: off on GPU 2" in warned.find("system-out").text
    suite_b = suites[1]
    assert (suite_b.get("tests"), suite_b.get("failures"), suite_b.get("skipped")) == ("4", "1", "1")


def test_markdown_table_names_each_host_and_lists_its_problems():
    rows = build(ROWS, hosts=["gpu-c"])
    text = render_markdown(rows, "Fleet")
    table = [line for line in text.splitlines() if line.startswith("| gpu-")]
    assert [line.split("|")[1].strip() for line in table if line.count("|") == 11] == ["gpu-a", "gpu-b", "gpu-c"]
    assert (
        "| gpu-b | NVIDIA H100 80GB HBM3 | 8 | 580.95.05 | 1.20.0-1 | FAIL | bf16 TFLOP/s (min) 788.9 | no | 1 | 1 |"
        in text
    )
    assert (
        "| gpu-b | error | gpu.xid | Xid 79 \\| fell off the bus <GPU 3> |" in text
    )  # a | in a message stays in its cell
    assert "3 host(s): 1 pass, 0 warn, 2 fail." in text


def test_json_round_trips():
    rows = build(ROWS)
    data = json.loads(render_json(rows, "verify", "2026-12-02T00:00:00Z"))
    assert data["name"] == "verify"
    assert [h["host"] for h in data["hosts"]] == ["gpu-a", "gpu-b"]
    assert data["totals"]["fail"] == 1


def test_a_gpu_verify_report_becomes_a_row():
    report = {
        "verdict": "fail",
        "driver_version": "580.95.05",
        "toolkit_version": "1.17.7",
        "toolkit_open_cves": [{"cve": "CVE-2025-23266", "fixed": "1.17.8", "summary": "escape"}],
        "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3"}, {"index": 1, "name": "NVIDIA H100 80GB HBM3"}],
        "bench": {"gpus": [{"index": 0, "bf16_tflops": 700.0}, {"index": 1, "bf16_tflops": 300.0}]},
        "checks": [
            {
                "subject": "GPU 0",
                "figure": "bf16_tflops",
                "value": 700.0,
                "unit": "TFLOP/s",
                "threshold": 450,
                "ok": True,
            },
            {
                "subject": "GPU 1",
                "figure": "bf16_tflops",
                "value": 300.0,
                "unit": "TFLOP/s",
                "threshold": 450,
                "ok": False,
                "message": "GPU 1: low",
            },
        ],
        "ddp": {"world_size": 2, "ddp_params_equal": True, "allreduce_sum_ok": True, "busbw_gbps": 350.0},
        "unknown_models": [],
    }
    row = row_from_gpu_verify("h", report, reboot_pending=True, report_path="/r/h/report.md")
    assert (row["gpu_model"], row["gpu_count"], row["verdict"], row["reboot_pending"]) == (
        "NVIDIA H100 80GB HBM3",
        2,
        "fail",
        True,
    )
    assert row["figures"] == {"bf16 TFLOP/s (min)": 300.0, "busbw GB/s": 350.0}
    statuses = {c["name"]: c["status"] for c in row["checks"]}
    assert statuses == {
        "GPU 0 bf16_tflops": "ok",
        "GPU 1 bf16_tflops": "error",
        "DDP and all-reduce": "ok",
        "toolkit security fixes": "warning",
    }
    assert row_from_gpu_verify("h", None)["verdict"] == "fail"

import copy

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_report import (
    evaluate,
    expected_for,
    matches,
    render_markdown,
    summary_rows,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_toolkit_cves import open_cves

TABLE = [
    {"match": "H100", "fp32_tflops": 35, "tf32_tflops": 250, "fp16_tflops": 500, "bf16_tflops": 500, "busbw_gbps": 100},
    {"match": "A100", "fp32_tflops": 14, "tf32_tflops": 90, "fp16_tflops": 180, "bf16_tflops": 180, "busbw_gbps": 10},
]
# Figures the H100 device machine gave (2026-11-24).
H100_BENCH = {
    "torch": "2.11.0+cu130",
    "cpu": {"threads": 16, "fp32_tflops": 1.08},
    "gpus": [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "fp32_tflops": 51.61,
            "tf32_tflops": 396.15,
            "fp16_tflops": 764.24,
            "bf16_tflops": 788.93,
        }
    ],
}
DDP_2 = {
    "world_size": 2,
    "backend": "nccl",
    "nccl_version": "2.28.9",
    "ddp_steps": 5,
    "ddp_params_equal": True,
    "allreduce_sum_ok": True,
    "allreduce_sum": 3.0,
    "allreduce_expected_sum": 3.0,
    "allreduce_bytes": 2**28,
    "algbw_gbps": 300.0,
    "busbw_gbps": 300.0,
}


def test_first_match_wins_case_insensitive():
    assert expected_for("NVIDIA A100-SXM4-80GB", TABLE)["match"] == "A100"
    assert expected_for("nvidia h100 80gb hbm3", TABLE)["match"] == "H100"
    assert expected_for("Tesla K80", TABLE) is None


def test_healthy_h100_passes_every_figure():
    result = evaluate(H100_BENCH, DDP_2, TABLE, 0.1)
    assert result["verdict"] == "pass"
    assert {c["figure"] for c in result["checks"]} == {
        "fp32_tflops",
        "tf32_tflops",
        "fp16_tflops",
        "bf16_tflops",
        "busbw_gbps",
    }
    assert all(c["ok"] for c in result["checks"])


def test_slow_gpu_fails_naming_the_figure_and_the_shortfall():
    slow = copy.deepcopy(H100_BENCH)
    slow["gpus"][0]["bf16_tflops"] = 300.0
    result = evaluate(slow, None, TABLE, 0.1)
    assert result["verdict"] == "fail"
    (message,) = result["failures"]
    assert "bf16_tflops is 300.0 TFLOP/s" in message
    assert "expected minimum 500" in message
    assert "by 150.0 TFLOP/s (33.3%)" in message


def test_tolerance_moves_the_threshold():
    slow = copy.deepcopy(H100_BENCH)
    slow["gpus"][0]["bf16_tflops"] = 460.0
    assert evaluate(slow, None, TABLE, 0.1)["verdict"] == "pass"  # threshold 450
    assert evaluate(slow, None, TABLE, 0.0)["verdict"] == "fail"  # threshold 500


def test_slow_all_reduce_and_broken_ddp_fail():
    bad = dict(DDP_2, busbw_gbps=20.0, ddp_params_equal=False, allreduce_sum_ok=False, allreduce_sum=2.0)
    failures = evaluate(H100_BENCH, bad, TABLE, 0.1)["failures"]
    assert any("busbw_gbps is 20.0 GB/s" in f for f in failures)
    assert "DDP: parameters differ between ranks after training steps" in failures
    assert "all-reduce: sum 2.0 != expected 3.0" in failures


def test_one_rank_has_no_bus_bandwidth_to_judge():
    one = dict(DDP_2, world_size=1, busbw_gbps=None)
    result = evaluate(H100_BENCH, one, TABLE, 0.1)
    assert "busbw_gbps" not in {c["figure"] for c in result["checks"]}
    assert result["verdict"] == "pass"


# Rows per interconnect, as the role's defaults have them (H100: ~25 GB/s over PCIe, hundreds over NVLink).
BY_LINK = [{"match": "H100", "busbw_nvlink_gbps": 150, "busbw_pcie_gbps": 15}]
NVLINK = {"kind": "nvlink", "link": "NV18", "gpus": ["0", "1"]}
PCIE = {"kind": "pcie", "link": "PHB", "gpus": ["0", "1"]}


def _busbw_check(ddp, table, topology):
    result = evaluate(H100_BENCH, ddp, table, 0.1, topology)
    return result, next(c for c in result["checks"] if c["figure"] == "busbw_gbps")


def test_pcie_figure_on_an_nvlink_host_fails_against_the_nvlink_row():
    result, check = _busbw_check(dict(DDP_2, busbw_gbps=25.0), BY_LINK, NVLINK)
    assert (check["expected_min"], check["row"], check["ok"]) == (150, "H100 busbw_nvlink_gbps", False)
    assert check["subject"] == "all-reduce over 2 GPUs, NVLink (NV18)"
    assert result["verdict"] == "fail"
    assert "busbw_gbps is 25.0 GB/s, below the expected minimum 150" in result["failures"][0]


def test_the_same_figure_passes_on_a_pcie_host():
    result, check = _busbw_check(dict(DDP_2, busbw_gbps=25.0), BY_LINK, PCIE)
    assert (check["expected_min"], check["row"], check["ok"]) == (15, "H100 busbw_pcie_gbps", True)
    assert check["subject"].startswith("all-reduce over 2 GPUs, PCIe (PHB: ")
    assert result["verdict"] == "pass"


def test_unknown_interconnect_is_judged_by_the_lower_pcie_row():
    _result, check = _busbw_check(dict(DDP_2, busbw_gbps=25.0), BY_LINK, None)
    assert (check["expected_min"], check["row"]) == (15, "H100 busbw_pcie_gbps (interconnect unknown)")


def test_a_table_with_busbw_gbps_alone_applies_it_to_any_interconnect():
    for topology in (NVLINK, PCIE, None):
        _result, check = _busbw_check(DDP_2, TABLE, topology)
        assert (check["expected_min"], check["row"]) == (100, "H100 busbw_gbps")


def test_an_interconnect_without_a_row_is_not_judged():
    # L40S has no NVLink row: reported, not judged against a PCIe figure.
    table = [{"match": "H100", "busbw_pcie_gbps": 15}]
    result = evaluate(H100_BENCH, DDP_2, table, 0.1, NVLINK)
    assert "busbw_gbps" not in {c["figure"] for c in result["checks"]}


def test_torchrun_error_is_a_failure():
    result = evaluate(H100_BENCH, {"error": "torchrun exited with 1: NCCL error"}, TABLE, 0.1)
    assert result["failures"] == ["DDP smoke test failed: torchrun exited with 1: NCCL error"]


def test_unknown_model_is_reported_not_judged():
    bench = {"gpus": [{"index": 0, "name": "Tesla K80", "fp32_tflops": 2.0}]}
    result = evaluate(bench, None, TABLE, 0.1)
    assert result["checks"] == []
    assert result["unknown_models"] == ["Tesla K80"]


def _report(ddp=None, bench=None):
    ddp = DDP_2 if ddp is None else ddp
    bench = H100_BENCH if bench is None else bench
    report = {
        "host": "gpu-1",
        "timestamp": "2026-11-24T03:21:12Z",
        "driver_version": "580.159.04",
        "cuda_version": "13.0",
        "docker_version": "27.3.1",
        "docker_runtimes": ["nvidia", "runc"],
        "torch": "2.11.0",
        "mode": "container",
        "bench": bench,
        "ddp": ddp,
        "gpus": [
            {
                "index": 0,
                "name": "NVIDIA H100 80GB HBM3",
                "memory_total_mib": 81559,
                "compute_capability": "9.0",
                "uuid": "GPU-8a57",
            }
        ],
    }
    report.update(evaluate(bench, ddp, TABLE, 0.1))
    return report


def test_markdown_has_every_section_and_figure():
    text = render_markdown(_report())
    assert text.startswith("# GPU verification: gpu-1\n")
    assert "**Verdict: PASS**" in text
    assert "| Docker runtimes | nvidia, runc |" in text
    assert "| 0 | NVIDIA H100 80GB HBM3 | 81559 | 9.0 | GPU-8a57 |" in text
    assert "| GPU 0 (NVIDIA H100 80GB HBM3) | bf16_tflops | 788.93 TFLOP/s | 500 | 450 | ok |" in text
    assert "| all-reduce over 2 GPUs, unknown interconnect | busbw_gbps | 300 GB/s | 100 | 90 | ok |" in text
    assert "- interconnect: unknown interconnect" in text
    assert "busbw 300 GB/s" in text
    assert "## Failures" not in text


def test_markdown_and_summary_of_a_failing_host():
    slow = copy.deepcopy(H100_BENCH)
    slow["gpus"][0]["fp16_tflops"] = 100.0
    report = _report(bench=slow)
    text = render_markdown(report)
    assert "**Verdict: FAIL**" in text
    assert "## Failures" in text
    assert "| GPU 0 (NVIDIA H100 80GB HBM3) | fp16_tflops | 100 TFLOP/s | 500 | 450 | FAIL |" in text
    rows = summary_rows(report)
    assert rows[0].startswith("gpu-1: FAIL")
    assert any(row.strip().startswith("FAIL GPU 0") and "fp16_tflops" in row for row in rows)


def test_toolkit_version_and_its_open_cves_are_listed():
    report = _report()
    report.update(toolkit_version="1.17.7", toolkit_open_cves=open_cves("1.17.7"))
    text = render_markdown(report)
    assert "| NVIDIA Container Toolkit | 1.17.7 |" in text
    assert "## Security" in text
    assert "- CVE-2025-23266: " in text and "(fixed in 1.17.8; this host has 1.17.7)" in text
    rows = summary_rows(report)
    assert any("WARN NVIDIA Container Toolkit 1.17.7" in row and "CVE-2026-24260" in row for row in rows)

    report.update(toolkit_version="1.20.0", toolkit_open_cves=open_cves("1.20.0"))
    assert "## Security" not in render_markdown(report)
    assert not any("WARN" in row for row in summary_rows(report))


# The roles' default table, in its order (first match wins).
DEFAULT_ORDER = ["H200", "H100", "A100", "L40S", "L4", "A10", "A4000", "T4", "V100"]


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("NVIDIA L40", None),  # not an L4: its own card, no minimums in the table
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA RTX A1000", None),  # not an A10
        ("NVIDIA A10G", None),  # AWS's A10G is not the A10 either
        ("NVIDIA A10", "A10"),
        ("NVIDIA RTX A4000", "A4000"),
        ("NVIDIA GH200 480GB", None),  # not an H200
        ("NVIDIA H200", "H200"),
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA H100-SXM5-80GB", "H100"),
        ("NVIDIA A100-SXM4-80GB", "A100"),
        ("Tesla T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100"),
    ],
)
def test_models_match_whole_words_not_substrings(name, model):
    table = [{"match": match} for match in DEFAULT_ORDER]
    entry = expected_for(name, table)
    assert (entry and entry["match"]) == model


def test_a_match_of_several_words():
    assert matches("RTX A4000", "NVIDIA RTX A4000")
    assert not matches("RTX A4000", "NVIDIA A4000")

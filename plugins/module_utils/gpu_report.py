# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind gpu_verify_report: judge smoke-test figures against expected minimums, render."""

from __future__ import annotations

import re

from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_topology import describe

FIGURES = ["fp32_tflops", "tf32_tflops", "fp16_tflops", "bf16_tflops"]
UNITS = {
    "fp32_tflops": "TFLOP/s",
    "tf32_tflops": "TFLOP/s",
    "fp16_tflops": "TFLOP/s",
    "bf16_tflops": "TFLOP/s",
    "busbw_gbps": "GB/s",
}


def name_words(name: str) -> list[str]:
    """The words of a GPU name as nvidia-smi reports it, split at spaces and hyphens, lower case.

    'NVIDIA A100-SXM4-80GB' -> ['nvidia', 'a100', 'sxm4', '80gb'].
    """
    return [word for word in re.split(r"[\s-]+", name.lower()) if word]


def matches(match: str, gpu_name: str) -> bool:
    """Whether `match` is one or more whole, consecutive words of the GPU's name (case-insensitive).

    'L4' matches 'NVIDIA L4' but not 'NVIDIA L40S'; 'A10' matches 'NVIDIA A10' but not 'NVIDIA RTX A1000'
    nor 'NVIDIA A10G'; 'RTX A4000' and 'A4000' both match 'NVIDIA RTX A4000'.
    """
    wanted, words = name_words(match), name_words(gpu_name)
    return bool(wanted) and any(words[i : i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))


def expected_for(gpu_name: str, table: list[dict]) -> dict | None:
    """The first table entry whose `match` is whole words of the GPU's name (see matches())."""
    for entry in table:
        if matches(entry["match"], gpu_name):
            return entry
    return None


def _check(subject: str, figure: str, value, minimum, tolerance: float) -> dict:
    threshold = round(minimum * (1 - tolerance), 3)
    ok = value is not None and value >= threshold
    check = {
        "subject": subject,
        "figure": figure,
        "value": value,
        "expected_min": minimum,
        "threshold": threshold,
        "unit": UNITS[figure],
        "ok": ok,
    }
    if not ok:
        shortfall = threshold - (value or 0)
        check["shortfall"] = round(shortfall, 3)
        check["shortfall_pct"] = round(100 * shortfall / threshold, 1) if threshold else None
        check["message"] = (
            f"{subject}: {figure} is {value} {UNITS[figure]}, below the expected minimum {minimum} "
            f"(threshold {threshold} with tolerance {tolerance:.0%}) by {check['shortfall']} {UNITS[figure]} "
            f"({check['shortfall_pct']}%)"
        )
    return check


# The busbw row an all-reduce is judged by, per interconnect (see gpu_topology.interconnect()).
BUSBW_KEYS = {"nvlink": "busbw_nvlink_gbps", "pcie": "busbw_pcie_gbps"}


def busbw_minimum(entry: dict, topology: dict | None) -> tuple[float | None, str | None]:
    """The expected busbw minimum for this interconnect, and which row gave it.

    A row for the interconnect the topology shows wins; `busbw_gbps` (any interconnect) is the fallback.
    With the topology unknown, the PCIe row, the lower one, is used: a healthy host never fails for it.
    """
    kind = (topology or {}).get("kind")
    if kind in BUSBW_KEYS and BUSBW_KEYS[kind] in entry:
        return entry[BUSBW_KEYS[kind]], BUSBW_KEYS[kind]
    if "busbw_gbps" in entry:
        return entry["busbw_gbps"], "busbw_gbps"
    if kind is None and "busbw_pcie_gbps" in entry:
        return entry["busbw_pcie_gbps"], "busbw_pcie_gbps (interconnect unknown)"
    return None, None


def evaluate(bench: dict, ddp: dict | None, table: list[dict], tolerance: float, topology: dict | None = None) -> dict:
    """Checks of every figure with a known minimum; figures of unknown GPUs are reported, not judged.

    `topology` (gpu_topology.interconnect()) picks the busbw row: NVLink and PCIe hosts differ tenfold.
    """
    checks, unknown = [], []
    gpus = bench.get("gpus", [])
    for gpu in gpus:
        entry = expected_for(gpu["name"], table)
        if entry is None:
            unknown.append(gpu["name"])
            continue
        for figure in FIGURES:
            if figure in entry and figure in gpu:
                checks.append(
                    _check(f"GPU {gpu['index']} ({gpu['name']})", figure, gpu[figure], entry[figure], tolerance)
                )
    if ddp and ddp.get("world_size", 1) > 1 and gpus:
        entry = expected_for(gpus[0]["name"], table)
        minimum, row = busbw_minimum(entry, topology) if entry else (None, None)
        if minimum is not None:
            check = _check(
                f"all-reduce over {ddp['world_size']} GPUs, {describe(topology)}",
                "busbw_gbps",
                ddp.get("busbw_gbps"),
                minimum,
                tolerance,
            )
            check["row"] = f"{entry['match']} {row}"
            checks.append(check)
    failures = [c["message"] for c in checks if not c["ok"]]
    if ddp is not None and ddp.get("error"):
        failures.append(f"DDP smoke test failed: {ddp['error']}")
    elif ddp is not None:
        if not ddp.get("ddp_params_equal"):
            failures.append("DDP: parameters differ between ranks after training steps")
        if not ddp.get("allreduce_sum_ok"):
            failures.append(
                f"all-reduce: sum {ddp.get('allreduce_sum')} != expected {ddp.get('allreduce_expected_sum')}"
            )
    return {
        "checks": checks,
        "failures": failures,
        "unknown_models": sorted(set(unknown)),
        "verdict": "fail" if failures else "pass",
    }


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value)


def render_markdown(report: dict) -> str:
    """A report a person reads: host, software, GPUs, every figure against its minimum, the verdict."""
    host = report["host"]
    lines = [f"# GPU verification: {host}", "", f"**Verdict: {report['verdict'].upper()}** ({report['timestamp']})", ""]
    lines += ["| | |", "|---|---|"]
    for label, key in (
        ("Driver", "driver_version"),
        ("CUDA (driver)", "cuda_version"),
        ("Docker", "docker_version"),
        ("Docker runtimes", "docker_runtimes"),
        ("NVIDIA Container Toolkit", "toolkit_version"),
        ("PyTorch", "torch"),
        ("Mode", "mode"),
    ):
        value = report.get(key)
        lines.append(f"| {label} | {', '.join(value) if isinstance(value, list) else _fmt(value)} |")
    lines += ["", "## GPUs", "", "| # | Name | Memory (MiB) | Compute cap. | UUID |", "|---|---|---|---|---|"]
    for gpu in report.get("gpus", []):
        lines.append(
            f"| {gpu['index']} | {gpu['name']} | {_fmt(gpu.get('memory_total_mib'))} | "
            f"{_fmt(gpu.get('compute_capability'))} | {gpu.get('uuid', '')} |"
        )
    lines += [
        "",
        "## Figures",
        "",
        "| Subject | Figure | Value | Expected min | Threshold | Result |",
        "|---|---|---|---|---|---|",
    ]
    for check in report["checks"]:
        lines.append(
            f"| {check['subject']} | {check['figure']} | {_fmt(check['value'])} {check['unit']} | "
            f"{_fmt(check['expected_min'])} | {_fmt(check['threshold'])} | {'ok' if check['ok'] else 'FAIL'} |"
        )
    bench = report.get("bench") or {}
    cpu = bench.get("cpu") or {}
    if cpu:
        lines.append(
            f"| CPU ({cpu.get('threads')} threads) | fp32_tflops | {_fmt(cpu.get('fp32_tflops'))} TFLOP/s "
            "| not judged | | |"
        )
    ddp = report.get("ddp")
    if ddp and not ddp.get("error"):
        lines += [
            "",
            "## Multi-GPU",
            "",
            f"- ranks: {ddp['world_size']} ({ddp['backend']}, NCCL {_fmt(ddp.get('nccl_version'))})",
            f"- DDP parameters identical on every rank after {ddp['ddp_steps']} steps: {ddp['ddp_params_equal']}",
            f"- all-reduce sum {_fmt(ddp['allreduce_sum'])} (expected {_fmt(ddp['allreduce_expected_sum'])}): "
            f"{ddp['allreduce_sum_ok']}",
            f"- all-reduce of {ddp['allreduce_bytes'] // 2**20} MiB: algbw {_fmt(ddp['algbw_gbps'])} GB/s, "
            f"busbw {_fmt(ddp['busbw_gbps'])} GB/s",
            f"- interconnect: {describe(report.get('topology'))}"
            + ("" if ddp["world_size"] > 1 else " (one rank: busbw n/a, not judged)"),
        ]
        for index, links in sorted((report.get("nvlink") or {}).items(), key=lambda item: int(item[0])):
            if links["active"] or links["inactive"]:
                lines.append(f"- NVLink GPU {index}: {links['active']} active, {links['inactive']} inactive")
    if report.get("unknown_models"):
        lines += [
            "",
            f"No expected minimums for: {', '.join(report['unknown_models'])} (figures reported, not judged).",
        ]
    if report.get("toolkit_open_cves"):
        lines += ["", "## Security", ""] + [
            f"- {cve['cve']}: {cve['summary']} (fixed in {cve['fixed']}; this host has {report['toolkit_version']})"
            for cve in report["toolkit_open_cves"]
        ]
    if report["failures"]:
        lines += ["", "## Failures", ""] + [f"- {failure}" for failure in report["failures"]]
    return "\n".join(lines) + "\n"


def summary_rows(report: dict) -> list[str]:
    """A few aligned lines for the end of the play."""
    rows = [
        f"{report['host']}: {report['verdict'].upper()}  driver {_fmt(report.get('driver_version'))}  "
        f"CUDA {_fmt(report.get('cuda_version'))}  GPUs {len(report.get('gpus', []))}"
    ]
    for check in report["checks"]:
        rows.append(
            f"  {'ok  ' if check['ok'] else 'FAIL'} {check['subject']:<40} {check['figure']:<12} "
            f"{_fmt(check['value']):>9} {check['unit']:<8} (min {_fmt(check['threshold'])})"
        )
    if report.get("toolkit_open_cves"):
        rows.append(
            f"  WARN NVIDIA Container Toolkit {report['toolkit_version']} lacks the fixes for "
            f"{', '.join(cve['cve'] for cve in report['toolkit_open_cves'])}: upgrade it"
        )
    ddp = report.get("ddp")
    if ddp and ddp.get("error"):
        rows.append(f"  FAIL DDP: {ddp['error']}")
    elif ddp:
        rows.append(
            f"  {'ok  ' if ddp['ddp_params_equal'] and ddp['allreduce_sum_ok'] else 'FAIL'} DDP over "
            f"{ddp['world_size']} rank(s): params equal={ddp['ddp_params_equal']}, sum ok={ddp['allreduce_sum_ok']}, "
            f"busbw {_fmt(ddp['busbw_gbps'])} GB/s"
        )
    return rows

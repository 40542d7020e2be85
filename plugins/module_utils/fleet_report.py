# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the fleet_report action: one table for all hosts in Markdown, JSON and JUnit XML.

A row is one host: its name, a few columns (GPU model and count, driver, toolkit, key figures, reboot
pending), a verdict, and a list of checks {name, status, message} with status ok, warning, error or skipped.
site.yml and verify.yml build rows from gpu_verify's report (row_from_gpu_verify), doctor.yml from the
doctor's (row_from_doctor); a host that never reported gets missing_row. Kept free of Ansible imports.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

STATUSES = ("ok", "warning", "error", "skipped")
# The verdict a row gets from its worst check.
VERDICTS = {"error": "fail", "warning": "warn", "ok": "pass", "skipped": "pass"}
COLUMNS = (
    ("gpu_model", "GPU model"),
    ("gpu_count", "GPUs"),
    ("driver", "Driver"),
    ("toolkit", "Toolkit"),
    ("verdict", "Verdict"),
    ("figures", "Key figures"),
    ("reboot_pending", "Reboot pending"),
)


class FleetReportError(ValueError):
    """A row the report cannot hold; the message names the host and the field."""


def worst(checks: list[dict]) -> str:
    """The most severe status among checks: error > warning > ok > skipped ('ok' for none)."""
    order = ("error", "warning", "ok", "skipped")
    statuses = {check["status"] for check in checks}
    return next((status for status in order if status in statuses), "ok")


def normalise_row(row: dict) -> dict:
    """A row with every column present, checks validated, and the verdict derived where it is not given."""
    if not isinstance(row, dict) or not str(row.get("host") or "").strip():
        raise FleetReportError(f"every row needs a host name, got {row!r}")
    host = str(row["host"])
    checks = []
    for check in row.get("checks") or []:
        status = str(check.get("status", "")).lower()
        if status not in STATUSES:
            raise FleetReportError(
                f"{host}: check {check.get('name')!r} has status {check.get('status')!r}, not one of "
                f"{', '.join(STATUSES)}"
            )
        checks.append(
            {"name": str(check.get("name") or "check"), "status": status, "message": check.get("message") or ""}
        )
    result = {key: row.get(key) for key, _label in COLUMNS}
    result.update({"host": host, "checks": checks, "report": row.get("report")})
    result["verdict"] = str(row.get("verdict") or VERDICTS[worst(checks)]).lower()
    return result


def missing_row(host: str, message: str) -> dict:
    """The row of a host that gave no result (failed before reporting, unreachable)."""
    return normalise_row(
        {"host": host, "verdict": "fail", "checks": [{"name": "report", "status": "error", "message": message}]}
    )


def build(rows: list[dict], hosts: list[str] | None = None, missing_message: str = "no report") -> list[dict]:
    """Normalised rows sorted by host, plus a missing_row for each expected host without a row."""
    normalised = {}
    for row in rows:
        item = normalise_row(row)
        normalised[item["host"]] = item
    for host in hosts or []:
        if host not in normalised:
            normalised[host] = missing_row(host, missing_message)
    return [normalised[host] for host in sorted(normalised)]


def totals(rows: list[dict]) -> dict:
    """Hosts per verdict and checks per status."""
    result = {"hosts": len(rows), "pass": 0, "warn": 0, "fail": 0, **{status: 0 for status in STATUSES}}
    for row in rows:
        result[row["verdict"]] = result.get(row["verdict"], 0) + 1
        for check in row["checks"]:
            result[check["status"]] += 1
    return result


def _cell(value) -> str:
    if value is None or value == "":
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        value = ", ".join(f"{key} {val}" for key, val in value.items())
    elif isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[dict], title: str) -> str:
    """One table, a row per host, then each host's errors and warnings with their messages."""
    count = totals(rows)
    lines = [
        f"# {title}",
        "",
        f"{count['hosts']} host(s): {count['pass']} pass, {count['warn']} warn, {count['fail']} fail.",
        "",
        "| Host | " + " | ".join(label for _key, label in COLUMNS) + " | Errors | Warnings |",
        "|---|" + "---|" * (len(COLUMNS) + 2),
    ]
    for row in rows:
        errors = sum(1 for check in row["checks"] if check["status"] == "error")
        warnings = sum(1 for check in row["checks"] if check["status"] == "warning")
        cells = [_cell(row["host"])] + [
            _cell(row[key].upper() if key == "verdict" else row[key]) for key, _label in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + f" | {errors} | {warnings} |")
    flagged = [
        (row["host"], check) for row in rows for check in row["checks"] if check["status"] in ("error", "warning")
    ]
    if flagged:
        lines += ["", "## Findings", "", "| Host | Severity | Check | Message |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(host)} | {check['status']} | {_cell(check['name'])} | {_cell(check['message'])} |"
            for host, check in flagged
        ]
    return "\n".join(lines) + "\n"


def render_json(rows: list[dict], name: str, generated: str) -> str:
    return json.dumps({"name": name, "generated": generated, "totals": totals(rows), "hosts": rows}, indent=2) + "\n"


def render_junit(rows: list[dict], name: str) -> str:
    """JUnit XML: a testsuite per host, a testcase per check; errors are failures, skipped are skipped.

    JUnit has no warning: a warning passes and carries its message in the testcase's system-out.
    """
    count = totals(rows)
    suites = ET.Element(
        "testsuites",
        {"name": name, "tests": str(sum(len(row["checks"]) for row in rows)), "failures": str(count["error"])},
    )
    for row in rows:
        failures = sum(1 for check in row["checks"] if check["status"] == "error")
        skipped = sum(1 for check in row["checks"] if check["status"] == "skipped")
        suite = ET.SubElement(
            suites,
            "testsuite",
            {
                "name": f"{name}.{row['host']}",
                "tests": str(len(row["checks"])),
                "failures": str(failures),
                "errors": "0",
                "skipped": str(skipped),
            },
        )
        for check in row["checks"]:
            case = ET.SubElement(suite, "testcase", {"classname": f"{name}.{row['host']}", "name": check["name"]})
            if check["status"] == "error":
                failure = ET.SubElement(case, "failure", {"message": check["message"], "type": "error"})
                failure.text = check["message"]
            elif check["status"] == "skipped":
                ET.SubElement(case, "skipped", {"message": check["message"]})
            elif check["message"]:
                ET.SubElement(case, "system-out").text = f"{check['status']}: {check['message']}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def summary_lines(rows: list[dict]) -> list[str]:
    """A line per host for the end of the play."""
    return [
        f"{row['host']}: {row['verdict'].upper()}  "
        + "  ".join(f"{label} {_cell(row[key])}" for key, label in COLUMNS if key != "verdict")
        + "".join(
            f"\n  {check['status'].upper():<7} {check['name']}: {check['message']}"
            for check in row["checks"]
            if check["status"] in ("error", "warning")
        )
        for row in rows
    ]


def _gpu_model(gpus: list[dict]) -> str | None:
    names = sorted({gpu.get("name") for gpu in gpus if gpu.get("name")})
    return ", ".join(names) or None


def row_from_gpu_verify(host: str, report: dict | None, reboot_pending=None, report_path: str | None = None) -> dict:
    """A row from gpu_verify's report.json: each judged figure, the DDP result and the toolkit's open CVEs."""
    if not report:
        return missing_row(host, "gpu_verify wrote no report: the host failed before it (see the play's output)")
    checks = [
        {
            "name": f"{check['subject']} {check['figure']}",
            "status": "ok" if check["ok"] else "error",
            "message": check.get("message") or f"{check['value']} {check['unit']} (minimum {check['threshold']})",
        }
        for check in report.get("checks", [])
    ]
    ddp = report.get("ddp")
    if ddp is not None:
        ddp_ok = not ddp.get("error") and ddp.get("ddp_params_equal") and ddp.get("allreduce_sum_ok")
        checks.append(
            {
                "name": "DDP and all-reduce",
                "status": "ok" if ddp_ok else "error",
                "message": ddp.get("error") or f"{ddp.get('world_size')} rank(s), busbw {ddp.get('busbw_gbps')} GB/s",
            }
        )
    for model in report.get("unknown_models") or []:
        checks.append({"name": f"{model} figures", "status": "skipped", "message": "no expected minimums for it"})
    cves = report.get("toolkit_open_cves") or []
    if report.get("toolkit_version"):
        checks.append(
            {
                "name": "toolkit security fixes",
                "status": "warning" if cves else "ok",
                "message": (
                    f"{report['toolkit_version']} lacks the fixes for {', '.join(cve['cve'] for cve in cves)}"
                    if cves
                    else f"{report['toolkit_version']} has every published fix"
                ),
            }
        )
    gpus = report.get("gpus") or []
    bench = {gpu.get("index"): gpu for gpu in (report.get("bench") or {}).get("gpus", [])}
    bf16 = [gpu.get("bf16_tflops") for gpu in bench.values() if gpu.get("bf16_tflops") is not None]
    figures = {}
    if bf16:
        figures["bf16 TFLOP/s (min)"] = min(bf16)
    if ddp and ddp.get("busbw_gbps") is not None:
        figures["busbw GB/s"] = ddp["busbw_gbps"]
    return normalise_row(
        {
            "host": host,
            "gpu_model": _gpu_model(gpus),
            "gpu_count": len(gpus),
            "driver": report.get("driver_version"),
            "toolkit": report.get("toolkit_version"),
            "verdict": report.get("verdict"),
            "figures": figures or None,
            "reboot_pending": reboot_pending,
            "checks": checks,
            "report": report_path,
        }
    )


def row_from_doctor(host: str, report: dict | None, report_path: str | None = None) -> dict:
    """A row from the doctor's report: every finding is a check (its id), its severity the status."""
    if not report:
        return missing_row(host, "the doctor wrote no report: the host failed before it (see the play's output)")
    checks = [
        {
            "name": finding["id"],
            "status": finding["severity"],
            "message": finding["summary"] + (f" Fix: {finding['fix']}" if finding.get("fix") else ""),
        }
        for finding in report.get("findings", [])
    ]
    return normalise_row(
        {
            "host": host,
            "gpu_model": report.get("gpu_model"),
            "gpu_count": report.get("gpu_count"),
            "driver": report.get("driver_version"),
            "toolkit": report.get("toolkit_version"),
            "verdict": report.get("verdict"),
            "figures": report.get("figures"),
            "reboot_pending": report.get("reboot_pending"),
            "checks": checks,
            "report": report_path,
        }
    )

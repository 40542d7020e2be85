# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_row
short_description: A host's row for the fleet report, from what gpu_verify or the doctor left in its variables
version_added: 0.3.0
author: gpuhost contributors
description:
  - Reads one host's variables (C(hostvars[host])) and returns its row for M(gpuhost.provision.fleet_report).
  - C(gpu_verify) reads the report gpu_verify registered (its report.json) and the fact
    C(nvidia_driver_reboot_pending); C(gpu_doctor) reads the doctor's report. A host without one (it failed
    before reporting) gets a failing row that says so.
positional: source, report_dir
options:
  _input:
    description: The host's variables, C(hostvars[host]) (map C(extract) over C(ansible_play_hosts_all)).
    type: dict
    required: true
  source:
    description: What reported, C(gpu_verify) or C(gpu_doctor).
    type: str
    choices: [gpu_verify, gpu_doctor]
    default: gpu_verify
  report_dir:
    description: The directory on the controller that holds the per-host reports (a column of the row).
    type: str
"""

EXAMPLES = r"""
- name: The fleet report is written
  gpuhost.provision.fleet_report:
    name: verify
    dest: "{{ playbook_dir }}/reports"
    rows: "{{ ansible_play_hosts_all | map('extract', hostvars) | map('gpuhost.provision.fleet_row', 'gpu_verify') }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: The row, with C(host), the columns and C(checks) (see M(gpuhost.provision.fleet_report)).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.gpuhost.provision.plugins.module_utils.fleet_report import row_from_doctor, row_from_gpu_verify


def _get(variables, key, default=None):
    try:
        value = variables.get(key, default)
    except Exception:  # noqa: BLE001 - a variable that fails to template is as good as absent here
        return default
    return default if value is None else value


def fleet_row(variables, source="gpu_verify", report_dir=None):
    host = _get(variables, "inventory_hostname")
    if not host:
        raise AnsibleFilterError("fleet_row: the input must be one host's variables, hostvars[host]")
    if source == "gpu_verify":
        result = _get(variables, "__gpu_verify_report", {})
        report = result.get("report") if hasattr(result, "get") else None
        path = f"{report_dir}/{host}/report.md" if report_dir and report else None
        return row_from_gpu_verify(host, report, _get(variables, "nvidia_driver_reboot_pending"), path)
    if source == "gpu_doctor":
        result = _get(variables, "__gpu_doctor_facts", {})
        report = result.get("report") if hasattr(result, "get") else None
        path = f"{report_dir}/{host}/doctor.md" if report_dir and report else None
        return row_from_doctor(host, report, path)
    raise AnsibleFilterError(f"fleet_row: source must be gpu_verify or gpu_doctor, not {source!r}")


class FilterModule:
    def filters(self):
        return {"fleet_row": fleet_row}

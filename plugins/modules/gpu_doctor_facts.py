#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_doctor_facts
short_description: Read a GPU host's driver, GPU and container state and judge it into findings with fixes
description:
  - Reads, and never changes, what decides whether a GPU host works and keeps working - C(nvidia-smi -q -x),
    the PCI devices of vendor 0x10de and their PCIe links in sysfs, C(/proc/driver/nvidia/version),
    C(/proc/modules), dpkg's status (driver, kernel, Docker and toolkit packages and their holds), the NVIDIA
    module of every installed kernel under C(/lib/modules), the Secure Boot EFI variable, Xid lines in the
    kernel log since boot (C(journalctl -k -b), else C(dmesg)), NVLink state (C(nvidia-smi nvlink -s)),
    Docker's daemon.json, NVIDIA CDI specs, the
    free space on Docker's data-root and unattended-upgrades' package blacklist.
  - Judges it into findings, each with an C(id), a C(severity) (C(error), C(warning), C(ok), or C(skipped)
    where the check does not apply), the C(evidence) it read and the C(fix) in one sentence. docs/doctor.md
    lists them all.
  - It does not fail on findings; the gpu_doctor role fails on RV(failing) after the reports are written.
version_added: 0.3.0
author: gpuhost contributors (@gpuhost)
options:
  root:
    description:
      - Read every file below this directory instead of C(/). Below any root other than C(/) no command
        runs; the output of C(nvidia-smi -q -x), the kernel log and the data-root's free space are read from
        C(commands/) there, as C(tools/capture_gpu_fixtures.py) writes them. For tests and captured hosts.
    type: path
    default: /
  host:
    description: The host's name in the report.
    type: str
    required: true
  nvidia_smi:
    description: The nvidia-smi command, looked up on PATH.
    type: str
    default: nvidia-smi
  expected_gpus:
    description: GPUs the host must have; 0 means as many as NVIDIA GPUs on the PCI bus.
    type: int
    default: 0
  expect_mig:
    description: Whether MIG mode is meant to be on; MIG on where it is not expected (or off where it is) is a warning.
    type: bool
    default: false
  require_containers:
    description: Whether a missing Docker or toolkit is an error (V(true)) or a warning.
    type: bool
    default: false
  docker_min_free_gib:
    description: Free GiB on Docker's data-root below which the doctor warns (below 1 GiB it is an error).
    type: float
    default: 20
  fail_on:
    description: The lowest severity RV(failing) lists (C(never) lists none); the module itself never fails on findings.
    type: str
    choices: [error, warning, never]
    default: error
  extra_findings:
    description: Findings made outside the module (the role's daemon-reload container check), added to the report.
    type: list
    elements: dict
    default: []
  today:
    description: The date (YYYY-MM-DD) driver branches' end of life is compared with; default today.
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
"""

EXAMPLES = r"""
- name: The host is examined
  gpuhost.provision.gpu_doctor_facts:
    host: "{{ inventory_hostname }}"
  register: doctor

- name: A captured host is examined (tests)
  gpuhost.provision.gpu_doctor_facts:
    host: h100
    root: tests/unit/fixtures/doctor/h100
"""

RETURN = r"""
ansible_facts:
  description: What was read, under the key gpu_doctor (see doctor_sources.collect() for every key).
  returned: always
  type: complex
  contains:
    gpu_doctor:
      description: PCI devices, loaded driver and modules, kernels, packages, nvidia-smi's GPUs, Xid lines, Docker, CDI.
      type: dict
      returned: always
findings:
  description: Every finding, in report order.
  type: list
  elements: dict
  returned: always
  sample:
    - id: gpu.pcie_link
      severity: error
      summary: "PCIe link narrower than it can be: GPU 0 (00000000:00:06.0) x8 of x16"
      evidence: {"GPU 0 (00000000:00:06.0)": {"nvidia_smi": {"current_width": 8, "max_width": 16}}}
      fix: Reseat the GPU or its riser, or move it to a full-width slot; on a cloud VM, replace the instance.
verdict:
  description: C(fail) with any error, C(warn) with any warning, else C(pass).
  type: str
  returned: always
  sample: pass
report:
  description: The per-host report (what doctor.json holds, without the raw facts).
  type: dict
  returned: always
failing:
  description: The findings at or above O(fail_on).
  type: list
  elements: dict
  returned: always
markdown:
  description: The per-host report in Markdown.
  type: str
  returned: always
summary:
  description: Lines for the end of the play, one per error and warning.
  type: list
  elements: str
  returned: always
"""

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_findings import (
    SEVERITIES,
    failing,
    judge,
    render_markdown,
    report,
    summary_lines,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_sources import collect


def main():
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/"},
            "host": {"type": "str", "required": True},
            "nvidia_smi": {"type": "str", "default": "nvidia-smi"},
            "expected_gpus": {"type": "int", "default": 0},
            "expect_mig": {"type": "bool", "default": False},
            "require_containers": {"type": "bool", "default": False},
            "docker_min_free_gib": {"type": "float", "default": 20},
            "fail_on": {"type": "str", "default": "error", "choices": ["error", "warning", "never"]},
            "extra_findings": {"type": "list", "elements": "dict", "default": []},
            "today": {"type": "str"},
        },
        supports_check_mode=True,
    )
    p = module.params
    root = p["root"]
    live = root == "/"

    def run(argv):
        binary = module.get_bin_path(argv[0])
        if binary is None:
            return 127, "", f"{argv[0]} is not installed (not found on PATH)"
        return module.run_command([binary, *argv[1:]])

    facts = collect(root, run if live else None, p["nvidia_smi"])
    findings = judge(
        facts,
        {
            "expected_gpus": p["expected_gpus"],
            "expect_mig": p["expect_mig"],
            "require_containers": p["require_containers"],
            "docker_min_free_gib": p["docker_min_free_gib"],
            "today": p["today"],
        },
    )
    for extra in p["extra_findings"]:
        if extra.get("severity") not in SEVERITIES or not extra.get("id"):
            module.fail_json(msg=f"extra_findings: each needs an id and a severity in {SEVERITIES}, got {extra!r}")
        findings.append({"evidence": {}, "fix": "", "summary": "", **extra})
    timestamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = report(p["host"], facts, findings, timestamp)
    module.exit_json(
        changed=False,
        ansible_facts={"gpu_doctor": facts},
        findings=findings,
        verdict=doc["verdict"],
        failing=failing(findings, p["fail_on"]),
        report=doc,
        markdown=render_markdown(doc),
        summary=summary_lines(doc),
    )


if __name__ == "__main__":
    main()

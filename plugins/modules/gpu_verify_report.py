#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_verify_report
short_description: Judge GPU smoke-test figures against expected minimums and write a JSON and Markdown report
description:
  - Compares the smoke test's matmul TFLOP/s per GPU and all-reduce bus bandwidth with a table of expected
    minimums per GPU model, checks the DDP and all-reduce results, and writes report.json and report.md.
  - The report is an observation, not configuration, so the module reports C(changed=false).
  - It does not fail by itself; the role fails on RV(verdict) so that the report is fetched first.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  host:
    description: The host's name in the report.
    type: str
    required: true
  bench:
    description: The smoke test's C(bench) result.
    type: dict
    required: true
  ddp:
    description: The smoke test's C(ddp) result.
    type: dict
  gpu_facts:
    description: The C(nvidia_gpu) facts from M(gpuhost.provision.nvidia_gpu_facts).
    type: dict
    required: true
  expected:
    description: Expected minimums, a list of dicts with C(match) (part of the GPU name) and figures.
    type: list
    elements: dict
    required: true
  tolerance:
    description: Fraction a figure may fall below its minimum before it fails.
    type: float
    default: 0.1
  topology:
    description:
      - The output of C(nvidia-smi topo -m). The all-reduce's bus bandwidth is judged against the expected row
        of the interconnect the GPUs share (C(busbw_nvlink_gbps), C(busbw_pcie_gbps)), not the model alone.
      - Empty where it was not read (one GPU); then the interconnect is unknown and C(busbw_gbps), else the
        PCIe row, is used.
    type: str
    default: ""
  nvlink_status:
    description: The output of C(nvidia-smi nvlink --status), reported as active and inactive links per GPU.
    type: str
    default: ""
  visible_devices:
    description: The smoke test's C(CUDA_VISIBLE_DEVICES) (empty for all GPUs), to judge only the GPUs it used.
    type: str
    default: ""
  extra:
    description: More keys for the report (mode, docker_version, docker_runtimes, container checks).
    type: dict
    default: {}
  dest:
    description: Directory for report.json and report.md.
    type: path
    required: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: The smoke test's figures are judged and reported
  gpuhost.provision.gpu_verify_report:
    host: "{{ inventory_hostname }}"
    bench: "{{ __gpu_verify_bench }}"
    ddp: "{{ __gpu_verify_ddp }}"
    gpu_facts: "{{ ansible_facts['nvidia_gpu'] }}"
    expected: "{{ gpu_verify_expected }}"
    dest: /var/lib/gpuhost/verify
"""

RETURN = r"""
report:
  description: The whole report as written to report.json.
  type: dict
  returned: always
verdict:
  description: pass or fail.
  type: str
  returned: always
  sample: pass
failures:
  description: One sentence per failed check, naming the figure and the shortfall.
  type: list
  elements: str
  returned: always
  sample: ["GPU 0 (NVIDIA A100 80GB PCIe): bf16_tflops is 120.0 TFLOP/s, below the expected minimum 180 ..."]
summary:
  description: Aligned lines for the end of the play.
  type: list
  elements: str
  returned: always
"""

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_report import (
    evaluate,
    render_markdown,
    summary_rows,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_topology import (
    parse_nvlink_status,
    read_topology,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "bench": {"type": "dict", "required": True},
            "ddp": {"type": "dict"},
            "gpu_facts": {"type": "dict", "required": True},
            "expected": {"type": "list", "elements": "dict", "required": True},
            "tolerance": {"type": "float", "default": 0.1},
            "topology": {"type": "str", "default": ""},
            "nvlink_status": {"type": "str", "default": ""},
            "visible_devices": {"type": "str", "default": ""},
            "extra": {"type": "dict", "default": {}},
            "dest": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    facts = p["gpu_facts"]
    report = {
        "host": p["host"],
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "driver_version": facts.get("driver_version"),
        "cuda_version": facts.get("cuda_version"),
        "gpus": facts.get("gpus", []),
        "torch": p["bench"].get("torch"),
        "bench": p["bench"],
        "ddp": p["ddp"],
        "tolerance": p["tolerance"],
        "topology": read_topology(p["topology"], p["visible_devices"], len(facts.get("gpus", []))),
        "nvlink": parse_nvlink_status(p["nvlink_status"]),
        **p["extra"],
    }
    report.update(evaluate(p["bench"], p["ddp"], p["expected"], p["tolerance"], report["topology"]))
    if not module.check_mode:
        os.makedirs(p["dest"], mode=0o755, exist_ok=True)
        with open(os.path.join(p["dest"], "report.json"), "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
        with open(os.path.join(p["dest"], "report.md"), "w", encoding="utf-8") as handle:
            handle.write(render_markdown(report))
    module.exit_json(
        changed=False,
        report=report,
        verdict=report["verdict"],
        failures=report["failures"],
        summary=summary_rows(report),
    )


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_cluster_report
short_description: Judge a multi-node DDP and all-reduce run and write a JSON and Markdown cluster report
description:
  - Takes every host's result of the smoke test's C(ddp) step run under one multi-node torchrun rendezvous
    (playbooks/verify_cluster.yml), checks that every host took part, that DDP parameters are bit-equal and
    the all-reduce sum is right, names the transport between nodes (gloo; or NCCL's network, read from
    C(NCCL_DEBUG=INFO) lines, such as Socket or IB) and judges the bus bandwidth against the expected minimum of
    that transport.
  - The report is an observation, not configuration, so the module reports C(changed=false).
  - It does not fail by itself; the role fails on RV(verdict) so that the report is fetched first.
version_added: 0.2.0
author: gpuhost contributors (@gpuhost)
options:
  nodes:
    description:
      - One entry per host, in play order, with C(host), C(ranks) (processes torchrun started there),
        C(ddp) (the smoke test's result, or a dict with C(error)) and C(output) (torchrun's output lines,
        for the NCCL transport).
    type: list
    elements: dict
    required: true
  expected:
    description: Expected minimum bus bandwidth per transport, a list of dicts with C(transport) and C(busbw_gbps).
    type: list
    elements: dict
    required: true
  tolerance:
    description: Fraction a figure may fall below its minimum before it fails.
    type: float
    default: 0.1
  extra:
    description: More keys for the report (rendezvous, torch version).
    type: dict
    default: {}
  dest:
    description: Directory for cluster.json and cluster.md.
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
- name: The cluster run is judged and reported
  gpuhost.provision.gpu_cluster_report:
    nodes:
      - {host: gpu-a, ranks: 8, ddp: "{{ result_a }}", output: "{{ torchrun_a.stdout_lines }}"}
      - {host: gpu-b, ranks: 8, ddp: "{{ result_b }}", output: "{{ torchrun_b.stdout_lines }}"}
    expected:
      - {transport: IB, busbw_gbps: 10}
    dest: /var/lib/gpuhost/verify/cluster
"""

RETURN = r"""
report:
  description: The whole report as written to cluster.json.
  type: dict
  returned: always
verdict:
  description: pass or fail.
  type: str
  returned: always
  sample: pass
transport:
  description: The transport between nodes (gloo, or NCCL's network); a list where the hosts disagree.
  type: raw
  returned: always
  sample: Socket
failures:
  description: One sentence per failed check, naming the host or the figure.
  type: list
  elements: str
  returned: always
  sample: ["gpu-b: torchrun exited with 1: ..."]
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
from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_cluster import (
    cluster_summary,
    evaluate_cluster,
    nccl_transport,
    render_cluster_markdown,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "nodes": {"type": "list", "elements": "dict", "required": True},
            "expected": {"type": "list", "elements": "dict", "required": True},
            "tolerance": {"type": "float", "default": 0.1},
            "extra": {"type": "dict", "default": {}},
            "dest": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    nodes = [
        {
            "host": node["host"],
            "ranks": node.get("ranks"),
            "ddp": node.get("ddp"),
            "nccl": nccl_transport(node.get("output") or []),
        }
        for node in p["nodes"]
    ]
    report = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tolerance": p["tolerance"],
        "node_results": nodes,
        **p["extra"],
    }
    report.update(evaluate_cluster(nodes, p["expected"], p["tolerance"]))
    if not module.check_mode:
        os.makedirs(p["dest"], mode=0o755, exist_ok=True)
        with open(os.path.join(p["dest"], "cluster.json"), "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
        with open(os.path.join(p["dest"], "cluster.md"), "w", encoding="utf-8") as handle:
            handle.write(render_cluster_markdown(report))
    module.exit_json(
        changed=False,
        report=report,
        verdict=report["verdict"],
        transport=report["transport"],
        failures=report["failures"],
        summary=cluster_summary(report),
    )


if __name__ == "__main__":
    main()

"""Two "nodes" on one multi-GPU machine: verify_cluster.yml with one GPU per node, NCCL forced over sockets.

Each inventory host is this machine (local connection) with one GPU of its own (CUDA_VISIBLE_DEVICES); the
rendezvous is on 127.0.0.1. P2P and shared memory are off, so NCCL moves the all-reduce over its socket
transport (NET/Socket on lo) as between two machines; NVLink SHARP (NVLS) is off as the device machines need.
What this cannot show: a real network between hosts, a firewall, InfiniBand. Skipped below 2 GPUs.

Run as root on the GPU host: `make gpu-test` (with the others), or
`python3 -m pytest -m gpu tests/gpu/test_gpu_two_nodes.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import yaml
from ansible_run import run_playbook


def _gpus() -> int:
    if shutil.which("nvidia-smi") is None:
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines()) if out.returncode == 0 else 0


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(_gpus() < 2, reason="needs 2 NVIDIA GPUs on this machine (one per node)"),
]


def test_two_nodes_on_one_machine_pass_over_nccl_sockets(tmp_path):
    python = os.environ.get("GPUHOST_GPU_PYTHON", "python3")
    node = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "ansible_become": False,
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "cluster": {
                    "hosts": {
                        "node0": dict(node, gpu_verify_cuda_visible_devices="0"),
                        "node1": dict(node, gpu_verify_cuda_visible_devices="1"),
                    },
                    "vars": {
                        "gpu_verify_python": python,
                        "gpu_verify_cluster_master_addr": "127.0.0.1",
                        "gpu_verify_cluster_socket_ifname": "lo",
                        "gpu_verify_env": {
                            "NCCL_P2P_DISABLE": "1",
                            "NCCL_SHM_DISABLE": "1",
                            # NVLink multicast stays off on shared machines (the device machines' rule).
                            "NCCL_NVLS_ENABLE": "0",
                            "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
                            "NVSHMEM_DISABLE_NVLS": "1",
                            "NCCL_IB_DISABLE": "1",
                        },
                        "gpu_verify_cluster_allreduce_mib": 256,
                        "gpu_verify_cluster_allreduce_iters": 20,
                    },
                }
            }
        )
    )
    start = time.monotonic()
    result = run_playbook("playbooks/verify_cluster.yml", str(inventory), "-e", "gpuhost_cluster_hosts=cluster")
    elapsed = time.monotonic() - start
    reports = tmp_path / "reports" / "cluster"
    saved = os.environ.get("GPUHOST_REPORT_COPY")
    if saved and reports.is_dir():
        shutil.copytree(reports, os.path.join(saved, "cluster"), dirs_exist_ok=True)
        with open(os.path.join(saved, "cluster", "verify_cluster.log"), "w", encoding="utf-8") as handle:
            handle.write(f"{result.stdout}\nelapsed {elapsed:.1f} s\n")
    assert result.returncode == 0, result.stdout[-6000:]
    report = json.loads((reports / "cluster.json").read_text())
    assert report["verdict"] == "pass"
    assert (report["nodes"], report["result"]["world_size"], report["result"]["backend"]) == (2, 2, "nccl")
    assert report["transport"] == "Socket"
    # Channels went over the network transport, not peer-to-peer or shared memory (where NCCL names them).
    assert not [path for path in report["nccl_paths"] if path.startswith(("P2P", "SHM"))], report["nccl_paths"]
    assert report["result"]["ddp_params_equal"] is True
    assert report["result"]["busbw_gbps"] > 0

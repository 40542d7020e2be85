"""The smoke test's logic for real on CPU: torch's CPU build and gloo over 2 processes (CI has no GPU)."""

import json
import os
import socket
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="needs PyTorch: pip install torch==2.13.0 (CPU build)")
SMOKE = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "roles", "gpu_verify", "files", "gpuhost_smoke.py"
)
sys.path.insert(0, os.path.dirname(SMOKE))
import gpuhost_smoke  # noqa: E402


def test_matmul_tflops_counts_two_n_cubed_flops(monkeypatch):
    ticks = iter([10.0, 12.0])  # two seconds for 4 products of 64^3
    monkeypatch.setattr(gpuhost_smoke.time, "perf_counter", lambda: next(ticks))
    assert gpuhost_smoke.matmul_tflops(64, torch.float32, "cpu", iters=4, warmup=0) == pytest.approx(
        2 * 64**3 * 4 / 2.0 / 1e12
    )


def test_bench_on_cpu_measures_the_cpu_and_lists_no_gpu():
    result = gpuhost_smoke.bench(cpu_n=256, cpu_iters=2)
    assert result["cpu"]["fp32_tflops"] > 0
    assert result["gpus"] == []
    assert result["torch"] == torch.__version__


def run_ddp(tmp_path, nproc, *extra):
    out = tmp_path / "ddp.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            SMOKE,
            "ddp",
            "--json",
            str(out),
            "--allreduce-mib",
            "4",
            "--iters",
            "3",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    return proc, out


def test_ddp_over_two_gloo_ranks_checks_equality_sum_and_bandwidth(tmp_path):
    proc, out = run_ddp(tmp_path, 2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["world_size"] == 2
    assert result["nodes"] == 1
    assert result["hosts"] == [socket.gethostname()]
    assert result["local_world_size"] == 2
    assert result["backend"] == "gloo"
    assert result["ddp_params_equal"] is True
    assert result["allreduce_sum_ok"] is True
    assert result["allreduce_sum"] == 3.0
    assert result["allreduce_bytes"] == 4 * 2**20
    # busbw = algbw * 2(n-1)/n, which is algbw itself for n = 2.
    assert result["busbw_gbps"] == pytest.approx(result["algbw_gbps"], rel=0.02)
    assert result["busbw_gbps"] > 0


def test_ranks_start_apart_so_equality_is_earned():
    # Without DDP's gradient averaging, ranks trained on different data must end up different:
    # the equality check is able to fail.
    torch.manual_seed(1000)
    a = gpuhost_smoke._Net()
    torch.manual_seed(1001)
    b = gpuhost_smoke._Net()
    flat = [torch.cat([p.detach().reshape(-1) for p in m.parameters()]) for m in (a, b)]
    assert not torch.equal(*flat)

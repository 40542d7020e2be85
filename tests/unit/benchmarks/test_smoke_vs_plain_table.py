"""The benchmark's table must print on a 1-GPU host, where all-reduce busbw does not exist (issue 13)."""

import importlib.util
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="the benchmark imports torch: pip install torch==2.13.0 (CPU build)")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
spec = importlib.util.spec_from_file_location("smoke_vs_plain", os.path.join(ROOT, "benchmarks", "smoke_vs_plain.py"))
smoke_vs_plain = importlib.util.module_from_spec(spec)
spec.loader.exec_module(smoke_vs_plain)


def test_one_rank_busbw_prints_as_not_applicable():
    text = smoke_vs_plain.table([("all-reduce 256 MiB", "busbw_gbps", None, None)])
    row = text.splitlines()[1].split()
    assert row[-3:] == ["n/a", "n/a", "n/a"]


def test_figures_print_with_their_ratio():
    text = smoke_vs_plain.table([("GPU 0 NVIDIA H100", "bf16_tflops", 780.5, 790.0)])
    assert text.splitlines()[1].split()[-3:] == ["780.5", "790.0", "98.8%"]


def run_benchmark(*launcher: str) -> subprocess.CompletedProcess:
    # CPU and gloo, as on a CI machine; the same code path a 1-GPU host takes with NCCL.
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    env.pop("RANK", None)
    return subprocess.run(
        [*launcher, os.path.join(ROOT, "benchmarks", "smoke_vs_plain.py"), "--allreduce", "--allreduce-mib", "4"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def test_allreduce_on_one_rank_without_torchrun_prints_not_applicable():
    # Before the fix this crashed: NCCL hard-coded, and env:// wanted RANK that only torchrun sets.
    proc = run_benchmark(sys.executable)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = proc.stdout.strip().splitlines()[-1].split()
    assert row[:3] == ["all-reduce", "4", "MiB"]
    assert row[-3:] == ["n/a", "n/a", "n/a"]


def test_allreduce_over_two_gloo_ranks_prints_both_busbw_and_their_ratio():
    proc = run_benchmark(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = proc.stdout.strip().splitlines()[-1].split()
    assert "(gloo)" in row
    smoke, plain, ratio = row[-3:]
    assert float(smoke) > 0 and float(plain) > 0
    assert ratio.endswith("%")

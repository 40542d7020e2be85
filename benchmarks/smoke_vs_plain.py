#!/usr/bin/env python3
"""Benchmark: the gpu_verify smoke test's figures beside plain PyTorch / NCCL figures from the same run.

The smoke test should reach at least 95% of the plain figures (it is a health check, so it may not
under-report a healthy GPU). Prints a table; `--json PATH` also writes the numbers.

  python3 benchmarks/smoke_vs_plain.py                  # matmul, every visible GPU
  torchrun --standalone --nproc_per_node=N benchmarks/smoke_vs_plain.py --allreduce   # + all-reduce busbw

`--allreduce` without torchrun runs one rank (busbw reads n/a: one rank moves nothing over a bus); on a host
without CUDA it runs over gloo on the CPU, so the comparison's own code is tested in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "roles", "gpu_verify", "files"))
import gpuhost_smoke  # noqa: E402


def plain_matmul(index: int, dtype: torch.dtype, tf32: bool, n: int = 8192, iters: int = 50) -> float:
    """cuBLAS through torch.mm into a preallocated output, timed with CUDA events: the plain reference."""
    torch.backends.cuda.matmul.allow_tf32 = tf32
    device = f"cuda:{index}"
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    for _iteration in range(5):
        torch.mm(a, b, out=out)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _iteration in range(iters):
        torch.mm(a, b, out=out)
    end.record()
    torch.cuda.synchronize(device)
    return 2 * n**3 * iters / (start.elapsed_time(end) / 1e3) / 1e12


def plain_allreduce(device: torch.device, mib: int = 256, iters: int = 50) -> float | None:
    """busbw of a bare dist.all_reduce loop, as nccl-tests computes it, in the caller's process group."""
    world = dist.get_world_size()
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    buf = torch.ones(mib * 2**20 // 4, device=device)
    for _iteration in range(5):
        dist.all_reduce(buf)
    sync()
    start = time.perf_counter()
    for _iteration in range(iters):
        dist.all_reduce(buf)
    sync()
    seconds = (time.perf_counter() - start) / iters
    # The slowest rank sets the pace, as in the smoke test and nccl-tests.
    slowest = torch.tensor([seconds], device=device, dtype=torch.float64)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    # One rank moves nothing over a bus: busbw is undefined there, not 0.
    return buf.numel() * 4 / slowest.item() / 1e9 * 2 * (world - 1) / world if world > 1 else None


def allreduce_rows(mib: int) -> tuple[int, tuple]:
    """Smoke test and plain loop in one process group (NCCL on GPUs, gloo on CPUs): rank and table row.

    One group for both: a second default group on torchrun's store would meet the first one's keys and hang.
    """
    single_rank_env()
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if cuda else "gloo", device_id=device if cuda else None)
    try:
        smoke = gpuhost_smoke.ddp_check(steps=5, allreduce_mib=mib, iters=20)
        plain = plain_allreduce(device, mib=mib)
        rank = dist.get_rank()
        # Every rank done before any tears the group down: a gloo peer whose partner closed its pairs first
        # aborts ("terminate called without an active exception", seen once in CI). Not in the finally: a rank
        # that failed would wait there for one that never arrives.
        dist.barrier()
    finally:
        dist.destroy_process_group()
    row = (
        f"all-reduce {mib} MiB ({smoke['backend']})",
        "busbw_gbps",
        smoke["busbw_gbps"],
        None if plain is None else round(plain, 2),
    )
    return rank, row


def single_rank_env() -> None:
    """Outside torchrun: the env:// rendezvous of one rank on loopback, as `torchrun --nproc_per_node=1`."""
    if "RANK" in os.environ:
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update(
        {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    )


def table(rows: list[tuple]) -> str:
    """The printed comparison; a figure a run cannot have (busbw with one rank) reads n/a."""

    def cell(value) -> str:
        return "n/a" if value is None else str(value)

    lines = [f"{'subject':<34} {'figure':<12} {'smoke':>9} {'plain':>9} {'ratio':>7}"]
    for subject, figure, value, plain in rows:
        ratio = f"{value / plain:.1%}" if value and plain else "n/a"
        lines.append(f"{subject:<34} {figure:<12} {cell(value):>9} {cell(plain):>9} {ratio:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    parser.add_argument("--allreduce", action="store_true", help="under torchrun: compare all-reduce busbw")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each; the best counts")
    parser.add_argument("--allreduce-mib", type=int, default=256, help="all-reduce buffer size")
    args = parser.parse_args(argv)
    rows = []
    if args.allreduce:
        rank, row = allreduce_rows(args.allreduce_mib)
        if rank != 0:
            return 0
        rows.append(row)
    else:
        # A GPU heats up and clocks down under sustained load, so whichever runs second reads low (seen on
        # an H100: bf16 788 TFLOP/s first, 656 second). Interleave the two and keep each one's best.
        for index in range(torch.cuda.device_count()):
            name = torch.cuda.get_device_name(index)
            for label, (dtype, tf32) in gpuhost_smoke.GPU_DTYPES.items():
                smoke_best = plain_best = 0.0
                for _repeat in range(args.repeats):
                    torch.backends.cuda.matmul.allow_tf32 = tf32
                    smoke_best = max(smoke_best, gpuhost_smoke.matmul_tflops(8192, dtype, f"cuda:{index}", 20))
                    plain_best = max(plain_best, plain_matmul(index, dtype, tf32))
                rows.append((f"GPU {index} {name}", f"{label}_tflops", round(smoke_best, 2), round(plain_best, 2)))
    print(table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                [dict(zip(["subject", "figure", "smoke", "plain"], row, strict=True)) for row in rows], handle, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""gpuhost's GPU smoke test: matmul throughput, then DDP and all-reduce checks across GPUs.

  gpuhost_smoke.py bench [--json PATH]      CPU fp32 and, per visible GPU, fp32 / tf32 / fp16 / bf16 TFLOP/s
  torchrun --standalone --nproc_per_node=N gpuhost_smoke.py ddp [--json PATH]
  torchrun --nnodes=M --rdzv-backend=c10d --rdzv-endpoint=HOST:PORT ... gpuhost_smoke.py ddp
                                            the same across the ranks of M hosts (playbooks/verify_cluster.yml)
                                            DDP training steps whose parameters must match bit for bit on
                                            every rank, an all-reduce whose sum is checked, and its bus
                                            bandwidth (busbw = algbw * 2(n-1)/n, as nccl-tests reports it)

NCCL on GPUs, gloo on CPUs (CI has no GPU). Results are JSON; the exit status is non-zero when a check fails.
Honours CUDA_VISIBLE_DEVICES like any CUDA program.
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
from torch.nn.parallel import DistributedDataParallel

GPU_DTYPES = {
    # CUDA cores: fp32 with TF32 off. Tensor cores: tf32 (fp32 tensors, TF32 math), fp16, bf16.
    "fp32": (torch.float32, False),
    "tf32": (torch.float32, True),
    "fp16": (torch.float16, False),
    "bf16": (torch.bfloat16, False),
}


def matmul_tflops(n: int, dtype: torch.dtype, device: str, iters: int, warmup: int = 3) -> float:
    """Mean TFLOP/s of n x n x n matrix products (2 n^3 flops each) after warm-up runs."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    for _iteration in range(warmup):
        torch.matmul(a, b)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda *a: None)
    sync(device)
    start = time.perf_counter()
    for _iteration in range(iters):
        torch.matmul(a, b)
    sync(device)
    elapsed = time.perf_counter() - start
    return 2 * n**3 * iters / elapsed / 1e12


def bench(gpu_n: int = 8192, gpu_iters: int = 20, cpu_n: int = 1024, cpu_iters: int = 5) -> dict:
    result = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu": {
            "threads": torch.get_num_threads(),
            "fp32_tflops": round(matmul_tflops(cpu_n, torch.float32, "cpu", cpu_iters, warmup=1), 4),
        },
        "gpus": [],
    }
    previous_tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
            props = torch.cuda.get_device_properties(index)
            gpu = {
                "index": index,
                "name": props.name,
                "memory_mib": props.total_memory // 2**20,
                "compute_capability": f"{props.major}.{props.minor}",
            }
            for label, (dtype, tf32) in GPU_DTYPES.items():
                torch.backends.cuda.matmul.allow_tf32 = tf32
                gpu[f"{label}_tflops"] = round(matmul_tflops(gpu_n, dtype, f"cuda:{index}", gpu_iters), 2)
            result["gpus"].append(gpu)
            torch.cuda.empty_cache()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous_tf32
    return result


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 16))

    def forward(self, x):
        return self.layers(x)


def _gather_nodes(world: int, device: torch.device) -> list[tuple[str, str]]:
    """Every rank's (torchrun node rank, hostname), as fixed-size byte tensors (all_gather_object needs numpy).

    The node rank (GROUP_RANK) tells torchrun agents apart where two run on one machine.
    """
    name = f"{os.environ.get('GROUP_RANK', '0')}:{socket.gethostname()}".encode()[:255]
    mine = torch.zeros(256, dtype=torch.uint8, device=device)
    mine[: len(name)] = torch.tensor(list(name), dtype=torch.uint8, device=device)
    gathered = [torch.empty_like(mine) for _rank in range(world)]
    dist.all_gather(gathered, mine)
    decoded = [bytes(t.cpu().tolist()).rstrip(b"\0").decode(errors="replace") for t in gathered]
    return [tuple(item.split(":", 1)) for item in decoded]


def ddp_check(steps: int, allreduce_mib: int, iters: int) -> dict:
    """Run inside torchrun. Returns rank 0's view; every rank raises if its own check fails."""
    cuda = torch.cuda.is_available()
    backend = "nccl" if cuda else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    # A caller that already has a process group (benchmarks/smoke_vs_plain.py) keeps it: a second default
    # group on the same store would meet the first one's keys and hang.
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend=backend, device_id=device if cuda else None)
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        # Different initial weights and data on every rank: DDP must broadcast and average them into one model.
        torch.manual_seed(1000 + rank)
        model = DistributedDataParallel(_Net().to(device), device_ids=[local_rank] if cuda else None)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        for _step in range(steps):
            x = torch.randn(64, 512, device=device)
            y = torch.randn(64, 16, device=device)
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        # Which agents and machines the ranks run on: a cluster run proves every node took part.
        nodes = _gather_nodes(world, device)
        flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        gathered = [torch.empty_like(flat) for _rank in range(world)]
        dist.all_gather(gathered, flat)
        params_equal = all(torch.equal(gathered[0], other) for other in gathered[1:])

        # Sum check: rank r contributes r + 1 everywhere; the sum is exact in fp32 for any sane world size.
        probe = torch.full((1024,), float(rank + 1), device=device)
        dist.all_reduce(probe)
        expected = world * (world + 1) / 2
        sum_ok = bool(torch.all(probe == expected).item())

        numel = allreduce_mib * 2**20 // 4
        buf = torch.ones(numel, device=device, dtype=torch.float32)
        for _iteration in range(3):
            dist.all_reduce(buf)
        if cuda:
            torch.cuda.synchronize(device)
        dist.barrier()
        start = time.perf_counter()
        for _iteration in range(iters):
            dist.all_reduce(buf)
        if cuda:
            torch.cuda.synchronize(device)
        elapsed = (time.perf_counter() - start) / iters
        # The slowest rank sets the pace, as in nccl-tests.
        slowest = torch.tensor([elapsed], device=device, dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        seconds = slowest.item()
        algbw = numel * 4 / seconds / 1e9
        busbw = algbw * 2 * (world - 1) / world
        result = {
            "world_size": world,
            # torchrun agents (one per host in a cluster run) and the machines they ran on.
            "nodes": len({node for node, _host in nodes}),
            "hosts": sorted({host for _node, host in nodes}),
            "local_world_size": int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
            "backend": backend,
            "nccl_version": ".".join(map(str, torch.cuda.nccl.version())) if cuda else None,
            "ddp_steps": steps,
            "ddp_params_equal": params_equal,
            "allreduce_sum_ok": sum_ok,
            "allreduce_sum": probe[0].item(),
            "allreduce_expected_sum": expected,
            "allreduce_bytes": numel * 4,
            "allreduce_seconds": round(seconds, 6),
            "algbw_gbps": round(algbw, 2),
            # One rank has no bus to measure.
            "busbw_gbps": round(busbw, 2) if world > 1 else None,
        }
        if not (params_equal and sum_ok):
            raise SystemExit(f"rank {rank}: DDP parameters equal={params_equal}, all-reduce sum ok={sum_ok}")
        if owned:
            # Every rank done before any tears the group down (see benchmarks/smoke_vs_plain.py).
            dist.barrier()
        return result
    finally:
        if owned:
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_bench = sub.add_parser("bench", help="matmul TFLOP/s on CPU and every visible GPU")
    p_bench.add_argument("--json", help="write the result here as well as to stdout")
    p_bench.add_argument("--gpu-size", type=int, default=8192)
    p_bench.add_argument("--gpu-iters", type=int, default=20)
    p_bench.add_argument("--cpu-size", type=int, default=1024)
    p_ddp = sub.add_parser("ddp", help="DDP equality, all-reduce sum and bandwidth (run under torchrun)")
    p_ddp.add_argument("--json", help="each host's local rank 0 writes the result here as well as to stdout")
    p_ddp.add_argument("--steps", type=int, default=5)
    p_ddp.add_argument("--allreduce-mib", type=int, default=256)
    p_ddp.add_argument("--iters", type=int, default=20)
    args = parser.parse_args(argv)

    if args.command == "bench":
        result = bench(gpu_n=args.gpu_size, gpu_iters=args.gpu_iters, cpu_n=args.cpu_size)
    else:
        result = ddp_check(args.steps, args.allreduce_mib, args.iters)
        # Each host's first rank writes the (shared) result, so every node of a cluster run has it.
        if int(os.environ.get("LOCAL_RANK", "0")) != 0:
            return 0
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

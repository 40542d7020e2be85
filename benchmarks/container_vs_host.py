#!/usr/bin/env python3
"""Benchmark: gpu_verify's smoke-test figures in container mode beside host mode, in one run, on a GPU host.

Runs `playbooks/verify.yml` alternately in host and container mode (ROUNDS times each, alternating so that
neither mode always runs second on a warm GPU), keeps each figure's best per mode and prints the
container/host ratio. A container adds no compute layer, so the target is a ratio of at least 0.95 for every
figure; the script prints it and exits 1 where a ratio falls below. Needs what tests/gpu/test_gpu_container.py
needs (GPUHOST_DOCKER_BIN where no Docker answers, GPUHOST_TOOLKIT_DEBS):

  python3 benchmarks/container_vs_host.py [--rounds 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests")]
import gpu_container_host  # noqa: E402
from ansible_run import run_playbook  # noqa: E402

FIGURES = ("fp32_tflops", "tf32_tflops", "fp16_tflops", "bf16_tflops")
TARGET = 0.95


def verify(mode: str, images: dict, fetch_dir: str) -> dict:
    variables = {
        "gpu_verify_mode": mode,
        "gpu_verify_cuda_image": images["cuda"],
        "gpu_verify_pytorch_image": images["pytorch"],
        "gpu_verify_image_pull": False,
        "gpu_verify_docker_run_args": ["--network=host"],
        "gpu_verify_fetch_dir": fetch_dir,
    }
    result = run_playbook("playbooks/verify.yml", "inventories/local/hosts.yml", "-e", json.dumps(variables))
    if result.returncode != 0:
        raise SystemExit(f"verify.yml in {mode} mode failed:\n{result.stdout[-4000:]}")
    with open(os.path.join(fetch_dir, "localhost", "report.json"), encoding="utf-8") as handle:
        return json.load(handle)


def best(reports: list[dict]) -> dict:
    """(gpu index, figure) -> the best value over the rounds."""
    out: dict = {}
    for report in reports:
        for gpu in report["bench"]["gpus"]:
            for figure in FIGURES:
                if gpu.get(figure) is not None:
                    key = (gpu["index"], figure)
                    out[key] = max(out.get(key, 0.0), gpu[figure])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        images_json = os.path.join(tmp, "images.json")
        gpu_container_host.main(["up", "--images-json", images_json])
        with open(images_json, encoding="utf-8") as handle:
            images = json.load(handle)
        runs: dict[str, list[dict]] = {"host": [], "container": []}
        for round_ in range(args.rounds):
            order = ("host", "container") if round_ % 2 == 0 else ("container", "host")
            for mode in order:
                runs[mode].append(verify(mode, images, os.path.join(tmp, f"{mode}{round_}")))
    host, container = best(runs["host"]), best(runs["container"])
    rows, worst = [], None
    print(f"{'GPU':>3} {'figure':<12} {'host':>9} {'container':>9} {'ratio':>6}")
    for key in sorted(host):
        if key not in container:
            continue
        ratio = container[key] / host[key]
        worst = ratio if worst is None else min(worst, ratio)
        rows.append(
            {"gpu": key[0], "figure": key[1], "host": host[key], "container": container[key], "ratio": round(ratio, 4)}
        )
        print(f"{key[0]:>3} {key[1]:<12} {host[key]:>9.1f} {container[key]:>9.1f} {ratio:>6.3f}")
    ddp = {mode: runs[mode][-1]["ddp"] for mode in runs}
    print(
        f"DDP: host params equal {ddp['host'].get('ddp_params_equal')}, container "
        f"{ddp['container'].get('ddp_params_equal')}; worst ratio {worst:.3f} (target >= {TARGET})"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rounds": args.rounds, "rows": rows, "worst_ratio": worst, "images": images}, handle, indent=2)
    return 0 if worst is not None and worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

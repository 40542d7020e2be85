#!/usr/bin/env python3
"""Benchmark: what Ansible costs over the raw apt work, a second run, and a fleet of sandbox hosts.

Figures printed (and written to --json):
  1. site.yml (driver via Debian's packages, docker.io, the toolkit from the stand-in mirror; verify
     skipped) on a fresh sandbox host, beside baseline.sh doing the same apt and file work by hand on an
     identical fresh host, in the same run: wall times and their ratio (target: <= 1.3x).
  2. A second site.yml run on the converged host: wall time and changed= (targets: changed=0, < 10 s).
  3. Fleets of 1, 4 and 8 fresh hosts converged together (forks = hosts): wall time, and apt index
     refreshes per host, counted by an APT::Update::Pre-Invoke hook (goal: 1).

Needs Docker, the sandbox image (make image) and the venv (make setup). Downloads Debian's nvidia-driver
into every host: a fleet of 8 fetches it 8 times.

  .venv/bin/python benchmarks/converge.py                  # everything
  .venv/bin/python benchmarks/converge.py --fleet 1,4      # smaller fleets
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sandbox  # noqa: E402
from sandbox_image import DEFAULT_SUITE, image_name  # noqa: E402

PREFIX = "gpuhost-bench"
# Counts index refreshes: apt runs this before every update, from apt-get and python-apt alike.
APT_HOOK = 'APT::Update::Pre-Invoke {"date +%s >> /var/log/gpuhost-bench-apt-updates";};\n'
BASELINE = os.path.join(ROOT, "benchmarks", "baseline.sh")


def start_hosts(names: list[str]) -> None:
    image = image_name(DEFAULT_SUITE)
    for name in names:
        sandbox.docker("rm", "-f", name, check=False)
    sandbox.ensure_mirror()
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda n: sandbox.up(image, n), names))
    for name in names:
        sandbox.docker("exec", name, "sh", "-c", f"printf '%s' '{APT_HOOK}' > /etc/apt/apt.conf.d/99gpuhost-bench")


def remove_hosts(names: list[str]) -> None:
    for name in names:
        sandbox.docker("rm", "-f", name, check=False)


def apt_updates(name: str) -> int:
    out = sandbox.docker("exec", name, "sh", "-c", "cat /var/log/gpuhost-bench-apt-updates 2>/dev/null", check=False)
    return len(out.stdout.split())


def converge(names: list[str]) -> tuple[float, str]:
    """site.yml on these hosts, with the sandbox inventory's settings; returns (seconds, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as inv:
        hosts = "".join(f"    {n}:\n" for n in names)
        inv.write(
            "gpu_hosts:\n  vars:\n    ansible_connection: community.docker.docker\n"
            f"    ansible_python_interpreter: /usr/bin/python3\n  hosts:\n{hosts}"
        )
    cmd = [
        os.path.join(ROOT, ".venv", "bin", "ansible-playbook"),
        "-i",
        inv.name,
        "-e",
        f"@{os.path.join(ROOT, 'inventories', 'sandbox', 'group_vars', 'gpu_hosts.yml')}",
        "--forks",
        str(len(names)),
        os.path.join(ROOT, "playbooks", "site.yml"),
    ]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    seconds = time.monotonic() - started
    os.unlink(inv.name)
    if proc.returncode != 0:
        sys.exit(f"converge failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def changed_counts(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"changed=(\d+)", output.rsplit("PLAY RECAP", 1)[-1])]


def baseline(name: str) -> float:
    sandbox.docker("cp", BASELINE, f"{name}:/root/baseline.sh")
    started = time.monotonic()
    proc = sandbox.docker("exec", name, "bash", "/root/baseline.sh", check=False)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"baseline failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleet", default="1,4,8", help="host counts for the fleet runs (empty: none)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    figures: dict = {"machine": f"{platform.node()} {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}

    pair = [f"{PREFIX}-ansible", f"{PREFIX}-shell"]
    start_hosts(pair)
    try:
        shell_s = baseline(pair[1])
        ansible_s, _ = converge(pair[:1])
        second_s, second_out = converge(pair[:1])
        figures["first_run"] = {
            "ansible_s": round(ansible_s, 1),
            "shell_s": round(shell_s, 1),
            "ratio": round(ansible_s / shell_s, 2),
            "apt_updates_ansible": apt_updates(pair[0]),
            "apt_updates_shell": apt_updates(pair[1]),
        }
        figures["second_run"] = {"seconds": round(second_s, 1), "changed": changed_counts(second_out)}
    finally:
        remove_hosts(pair)
    print(f"first run   ansible {ansible_s:6.1f} s   shell {shell_s:6.1f} s   ratio {ansible_s / shell_s:.2f}x")
    print(f"second run  {second_s:.1f} s   changed={figures['second_run']['changed']}")

    figures["fleet"] = []
    for count in [int(n) for n in args.fleet.split(",") if n]:
        names = [f"{PREFIX}-{i}" for i in range(count)]
        start_hosts(names)
        try:
            seconds, _ = converge(names)
            updates = [apt_updates(n) for n in names]
        finally:
            remove_hosts(names)
        figures["fleet"].append({"hosts": count, "seconds": round(seconds, 1), "apt_updates_per_host": updates})
        print(f"fleet {count:2d} hosts  {seconds:6.1f} s   apt index refreshes per host {updates}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: what Ansible costs over the raw apt work, a second run, and a fleet of sandbox hosts.

Every figure is measured --repeat times (default 3) on fresh hosts and reported as the median, with the
samples beside it: package downloads make single runs swing by a quarter. Figures printed (and --json):
  1. site.yml (driver via Debian's packages, docker.io, the toolkit from the stand-in mirror; verify
     skipped) on a fresh sandbox host, beside baseline.sh doing the same apt and file work by hand on an
     identical fresh host, in the same run: wall times and their ratio (target: <= 1.3x). Beside them, on a
     third fresh host, the floor: floor.yml, the baseline's work as a bare playbook of builtin modules
     without the roles' checks, i.e. what Ansible's per-task cost alone adds to that work. --no-floor skips it.
  2. A second site.yml run on the converged host: wall time and changed= (targets: changed=0, <= 8 s), and
     where its time goes: the slowest tasks from ansible.posix.profile_tasks, summed per role.
  3. Fleets of 1, 4 and 8 fresh hosts converged together (forks = hosts, all hosts in one batch:
     gpuhost_serial=100%): wall time, and apt index refreshes per host, counted by an
     APT::Update::Pre-Invoke hook (goal: 1). Fleets run --fleet-repeat times (default 1: 8 hosts take minutes).

Needs Docker, the sandbox image (make image) and the venv (make setup). Downloads Debian's nvidia-driver
into every host: a fleet of 8 fetches it 8 times.

  .venv/bin/python benchmarks/converge.py                  # everything
  .venv/bin/python benchmarks/converge.py --fleet 1,4      # smaller fleets
  .venv/bin/python benchmarks/converge.py --repeat 5 --fleet ""   # first and second run only, 5 times
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sandbox  # noqa: E402
from sandbox_image import DEFAULT_SUITE, image_name  # noqa: E402

# Container names; GPUHOST_BENCH_PREFIX keeps two checkouts benchmarking at once apart.
PREFIX = os.environ.get("GPUHOST_BENCH_PREFIX", "gpuhost-bench")
# Counts index refreshes: apt runs this before every update, from apt-get and python-apt alike.
APT_HOOK = 'APT::Update::Pre-Invoke {"date +%s >> /var/log/gpuhost-bench-apt-updates";};\n'
BASELINE = os.path.join(ROOT, "benchmarks", "baseline.sh")
FLOOR = os.path.join(ROOT, "benchmarks", "floor.yml")
SITE = os.path.join(ROOT, "playbooks", "site.yml")


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


def converge(names: list[str], *extra: str, playbook: str = SITE) -> tuple[float, str]:
    """site.yml (or another playbook) on these hosts, with the sandbox inventory's settings; returns (seconds,
    output)."""
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
        *extra,
        playbook,
    ]
    # profile_tasks lists every task (not its default 20), for where_time_goes().
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
    )
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


PROFILE_LINE = re.compile(r"^(.+?) -+ (\d+\.\d+)s$")


def task_times(output: str) -> list[tuple[str, float]]:
    """profile_tasks' summary at the end of a run: (task, seconds), slowest first."""
    tail = output.rsplit("PLAY RECAP", 1)[-1]
    return [(m[1].strip(), float(m[2])) for m in map(PROFILE_LINE.match, tail.splitlines()) if m]


def where_time_goes(output: str) -> dict[str, float]:
    """profile_tasks' seconds summed per role (or 'play' for the play's own tasks and fact gathering)."""
    per_role: dict[str, float] = {}
    for task, seconds in task_times(output):
        role = task.split(" : ", 1)[0].rsplit(".", 1)[-1] if " : " in task else "play"
        per_role[role] = round(per_role.get(role, 0.0) + seconds, 2)
    return per_role


def keep(folder: str | None, name: str, output: str) -> None:
    """--keep-output: one run's ansible-playbook output, for reading where its time went."""
    if folder:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            handle.write(output)


def rotated(names: list[str], repeat: int) -> list[str]:
    """The order the runs of one repeat go in: each repeat starts one further along."""
    shift = repeat % len(names)
    return names[shift:] + names[:shift]


def summary(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 1), "samples": [round(s, 1) for s in samples]}


def show(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.1f} s (median of {', '.join(f'{s:.1f}' for s in samples)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleet", default="1,4,8", help="host counts for the fleet runs (empty: none)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--repeat", type=int, default=3, help="fresh host pairs for the first/second run")
    parser.add_argument("--second-runs", type=int, default=2, help="second runs per converged host")
    parser.add_argument("--fleet-repeat", type=int, default=1, help="runs per fleet size")
    parser.add_argument("--keep-output", help="write each run's ansible-playbook output here")
    parser.add_argument("--no-floor", action="store_true", help="no floor.yml host beside each pair")
    args = parser.parse_args()
    figures: dict = {
        "machine": f"{platform.node()} {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
    }

    ansible_runs, shell_runs, floor_runs, second_runs, changed, profiles, updates = [], [], [], [], [], [], {}
    for repeat in range(args.repeat):
        pair = [f"{PREFIX}-ansible", f"{PREFIX}-shell"] + ([] if args.no_floor else [f"{PREFIX}-floor"])
        start_hosts(pair)
        try:
            runs = {
                "shell": lambda hosts=pair: baseline(hosts[1]),
                "ansible": lambda hosts=pair: converge(hosts[:1]),
                "floor": lambda hosts=pair: converge(hosts[2:], playbook=FLOOR),
            }
            if args.no_floor:
                del runs["floor"]
            # Rotate which goes first: the first one also warms the mirror's and Docker's caches.
            results = {name: runs[name]() for name in rotated(list(runs), repeat)}
            shell_s = results["shell"]
            ansible_s, first_out = results["ansible"]
            if not args.no_floor:
                floor_runs.append(results["floor"][0])
                keep(args.keep_output, f"floor-{repeat + 1}.log", results["floor"][1])
            keep(args.keep_output, f"first-{repeat + 1}.log", first_out)
            for _second in range(args.second_runs):
                second_s, second_out = converge(pair[:1])
                keep(args.keep_output, f"second-{repeat + 1}-{len(second_runs) + 1}.log", second_out)
                second_runs.append(second_s)
                changed.append(changed_counts(second_out))
                profiles.append(where_time_goes(second_out))
            updates = {"apt_updates_ansible": apt_updates(pair[0]), "apt_updates_shell": apt_updates(pair[1])}
            if not args.no_floor:
                updates["apt_updates_floor"] = apt_updates(pair[2])
        finally:
            remove_hosts(pair)
        ansible_runs.append(ansible_s)
        shell_runs.append(shell_s)
        floor_text = f", floor {floor_runs[-1]:.1f} s" if floor_runs else ""
        print(
            f"repeat {repeat + 1}: ansible {ansible_s:.1f} s, shell {shell_s:.1f} s{floor_text}, "
            f"second {second_runs[-1]:.1f} s"
        )
    ratios = [a / s for a, s in zip(ansible_runs, shell_runs, strict=True)]
    roles = sorted({r for p in profiles for r in p})
    per_role = {r: round(statistics.median([p.get(r, 0.0) for p in profiles]), 2) for r in roles}
    figures["first_run"] = {
        "ansible_s": summary(ansible_runs),
        "shell_s": summary(shell_runs),
        "ratio": {"median": round(statistics.median(ratios), 2), "samples": [round(r, 2) for r in ratios]},
        **updates,
    }
    if floor_runs:
        floor_ratios = [f / s for f, s in zip(floor_runs, shell_runs, strict=True)]
        figures["first_run"]["floor_s"] = summary(floor_runs)
        figures["first_run"]["floor_ratio"] = {
            "median": round(statistics.median(floor_ratios), 2),
            "samples": [round(r, 2) for r in floor_ratios],
        }
    figures["second_run"] = {
        "seconds": summary(second_runs),
        "changed": changed,
        "profile_tasks_s_per_role_median": per_role,
    }
    print(f"first run   ansible {show(ansible_runs)}")
    print(f"            shell   {show(shell_runs)}")
    print(f"            ratio   {statistics.median(ratios):.2f}x (median of {', '.join(f'{r:.2f}' for r in ratios)})")
    if floor_runs:
        print(f"            floor   {show(floor_runs)}, floor.yml: the same work, builtin modules, no checks")
        print(
            f"            floor ratio {statistics.median(floor_ratios):.2f}x "
            f"(median of {', '.join(f'{r:.2f}' for r in floor_ratios)})"
        )
    print(f"second run  {show(second_runs)}   changed={changed}")
    print("second run, profile_tasks seconds per role (median):", per_role)

    figures["fleet"] = []
    for count in [int(n) for n in args.fleet.split(",") if n]:
        runs = []
        for _round in range(args.fleet_repeat):
            names = [f"{PREFIX}-{i}" for i in range(count)]
            start_hosts(names)
            try:
                # One batch, as before site.yml had batches: the figure is the fleet's parallel cost.
                seconds, _out = converge(names, "-e", "gpuhost_serial=100%")
                per_host = [apt_updates(n) for n in names]
            finally:
                remove_hosts(names)
            runs.append(seconds)
        figures["fleet"].append({"hosts": count, "seconds": summary(runs), "apt_updates_per_host": per_host})
        print(f"fleet {count:2d} hosts  {show(runs)}   apt index refreshes per host {per_host}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

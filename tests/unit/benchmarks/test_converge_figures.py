"""benchmarks/converge.py reports medians over repeats and sums profile_tasks' times per role."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
spec = importlib.util.spec_from_file_location("converge", os.path.join(ROOT, "benchmarks", "converge.py"))
converge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converge)

OUTPUT = """
PLAY RECAP *********************************************************************
gpuhost-bench-ansible      : ok=60   changed=0    unreachable=0    failed=0    skipped=40   rescued=0    ignored=0

Tuesday 01 December 2026  04:30:00 +0000 (0:00:00.120)       0:00:11.400 *****
===============================================================================
gpuhost.provision.nvidia_driver : Debian's NVIDIA driver packages are installed --------------------- 1.20s
Gathering Facts ------------------------------------------------------------------------------------- 0.61s
gpuhost.provision.nvidia_driver : Nouveau is blacklisted -------------------------------------------- 0.45s
gpuhost.provision.docker : Docker is running and enabled ------------------------------------------- 0.30s
Every role's variables match its argument spec ------------------------------------------------------ 0.05s
"""


def test_profile_tasks_lines_are_read_slowest_first():
    times = converge.task_times(OUTPUT)
    assert times[0] == ("gpuhost.provision.nvidia_driver : Debian's NVIDIA driver packages are installed", 1.2)
    assert len(times) == 5


def test_time_is_summed_per_role_and_the_play():
    assert converge.where_time_goes(OUTPUT) == {"nvidia_driver": 1.65, "play": 0.66, "docker": 0.3}


def test_figures_are_medians_with_their_samples():
    assert converge.summary([12.0, 9.5, 30.2]) == {"median": 12.0, "samples": [12.0, 9.5, 30.2]}
    assert converge.changed_counts(OUTPUT) == [0]


def test_each_repeat_starts_with_the_next_run():
    runs = ["shell", "ansible", "floor"]
    assert [converge.rotated(runs, r)[0] for r in range(4)] == ["shell", "ansible", "floor", "shell"]
    assert sorted(converge.rotated(runs, 2)) == sorted(runs)
    assert converge.rotated(["shell", "ansible"], 1) == ["ansible", "shell"]

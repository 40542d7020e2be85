"""tools/capture_gpu_fixtures.py writes what the doctor reads, in the layout it reads below `root`.

On this machine (no GPU) as on a GPU host: the capture, judged, gives the live host's findings.
"""

import os
import shutil
import subprocess
import sys

from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_findings import judge
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_sources import collect
from doctor_faults import run_capture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def live_run(argv):
    if shutil.which(argv[0]) is None:
        return 127, "", f"{argv[0]} is not installed"
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_capture_judges_like_the_host_it_was_taken_from(tmp_path):
    out = tmp_path / "capture"
    proc = run_capture(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "README.md").read_text().startswith("# Captured ")
    assert (out / "proc" / "sys" / "kernel" / "osrelease").exists()
    captured = collect(str(out))
    live = collect("/", live_run)
    assert captured["pci"] == live["pci"]
    assert captured["running_kernel"] == live["running_kernel"]
    assert captured["packages"] == live["packages"]
    moving = {"containers.data_root_space", "gpu.xid"}
    assert {f["id"]: f["severity"] for f in judge(captured) if f["id"] not in moving} == {
        f["id"]: f["severity"] for f in judge(live) if f["id"] not in moving
    }


def test_it_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "x").write_text("")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "capture_gpu_fixtures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "is not empty" in proc.stderr

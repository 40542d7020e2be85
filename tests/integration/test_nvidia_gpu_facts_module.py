"""gpuhost.provision.nvidia_gpu_facts on this machine (no GPU): what it says about the installed driver package,
read from the real dpkg database (dpkg itself stands in for the driver's package)."""

import re
import subprocess

from ansible_run import run_module


def _facts(tmp_path, **args) -> dict:
    base = {"require_nvidia_smi": False, "sysfs_root": str(tmp_path), "procfs_root": str(tmp_path)}
    return run_module("nvidia_gpu_facts", {**base, **args})["ansible_facts"]["nvidia_gpu"]


def test_the_installed_packages_upstream_version_is_reported(tmp_path):
    version = subprocess.check_output(["dpkg-query", "-W", "-f", "${Version}", "dpkg"], text=True)
    upstream = re.match(r"(?:\d+:)?(\d+(?:\.\d+)+)", version).group(1)
    facts = _facts(tmp_path, installed_package="dpkg")
    assert facts["installed_version"] == upstream
    assert facts["driver_loaded"] is False and facts["pci_devices"] == []


def test_a_package_not_installed_is_an_empty_version(tmp_path):
    assert _facts(tmp_path, installed_package="gpuhost-no-such-package")["installed_version"] == ""
    assert "installed_version" not in _facts(tmp_path)

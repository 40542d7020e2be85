"""playbooks/verify_cluster.yml for real on two sandbox hosts: CPU PyTorch, gloo, a Docker network of their own.

Real: two systemd hosts (the sandbox image), Docker's DNS between them, torchrun's c10d rendezvous on the
first, DDP and all-reduce across both over gloo/TCP, the report fetched to the controller. A firewall is
real too: an iptables DROP rule in the first host's own network namespace (set with this machine's iptables
through nsenter; the sandbox image has none), so the second host's connection times out as behind a cloud
security group. PyTorch is this checkout's CPU build, bind-mounted read-only (the image's python3 is 3.11,
as the venv's): the hosts download nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from ansible_run import ROOT, run_playbook

torch = pytest.importorskip("torch", reason="needs PyTorch in this venv: make torch")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from sandbox import CAPABILITIES  # noqa: E402
from sandbox_image import DEFAULT_SUITE, image_exists, image_name  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.torch]
SITE_PACKAGES = os.path.dirname(os.path.dirname(torch.__file__))
TORCH_IN_HOST = "/opt/gpuhost-torch"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two sandbox hosts on a network of their own; yields (inventory path, [first, second])."""
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        pytest.skip("needs a Docker engine that answers")
    image = image_name(DEFAULT_SUITE)
    if not image_exists(image):
        # make test runs pytest before Molecule's `make image`; the image is cached for both.
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "sandbox_image.py")], check=True)
    tag = uuid.uuid4().hex[:8]
    network = f"gpuhost-cluster-{tag}"
    hosts = [f"gpuhost-cluster-{tag}-a", f"gpuhost-cluster-{tag}-b"]
    docker("network", "create", network)
    try:
        for name in hosts:
            args = ["run", "-d", "--name", name, "--hostname", name, "--network", network, "--cgroupns=host"]
            args += ["-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", f"{SITE_PACKAGES}:{TORCH_IN_HOST}:ro"]
            args += ["--tmpfs", "/run", "--tmpfs", "/run/lock"]
            args += ["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"]
            for cap in CAPABILITIES:
                args += ["--cap-add", cap]
            docker(*args, image, "/lib/systemd/systemd")
        for name in hosts:
            deadline = time.monotonic() + 90
            while docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip() not in (
                "running",
                "degraded",
            ):
                assert time.monotonic() < deadline, f"systemd in {name} did not finish booting within 90 s"
                time.sleep(1)
        directory = tmp_path_factory.mktemp("cluster")
        inventory = directory / "hosts.yml"
        inventory.write_text(
            yaml.safe_dump(
                {
                    "cluster": {
                        "hosts": {name: {} for name in hosts},
                        "vars": {
                            "ansible_connection": "community.docker.docker",
                            "ansible_python_interpreter": "/usr/bin/python3",
                            "gpu_verify_python": "/usr/bin/python3",
                            "gpu_verify_env": {"PYTHONPATH": TORCH_IN_HOST, "OMP_NUM_THREADS": "1"},
                            "gpu_verify_cluster_allreduce_mib": 16,
                            "gpu_verify_cluster_check_timeout": 5,
                            "gpu_verify_cluster_join_timeout": 60,
                            "gpu_verify_cluster_timeout": 240,
                        },
                    }
                }
            )
        )
        yield str(inventory), hosts
    finally:
        for name in hosts:
            docker("rm", "-f", name, check=False)
        docker("network", "rm", network, check=False)


def verify_cluster(inventory: str, *extra: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = run_playbook("playbooks/verify_cluster.yml", inventory, "-e", "gpuhost_cluster_hosts=cluster", *extra)
    return proc, time.monotonic() - start


def test_two_hosts_pass_as_one_cluster_over_gloo(cluster):
    inventory, hosts = cluster
    proc, _elapsed = verify_cluster(inventory)
    if os.environ.get("GPUHOST_CLUSTER_LOG"):
        with open(os.environ["GPUHOST_CLUSTER_LOG"], "w", encoding="utf-8") as handle:
            handle.write(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-6000:]
    reports = os.path.join(os.path.dirname(inventory), "reports", "cluster")
    with open(os.path.join(reports, "cluster.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert report["verdict"] == "pass"
    assert report["nodes"] == 2
    assert report["transport"] == "gloo"
    result = report["result"]
    # The ranks themselves report which machines they ran on: both hosts took part.
    assert result["hosts"] == sorted(hosts)
    assert (result["world_size"], result["nodes"], result["backend"]) == (2, 2, "gloo")
    assert result["ddp_params_equal"] is True
    assert result["allreduce_sum"] == 3.0
    assert result["busbw_gbps"] > 0
    assert [c["figure"] for c in report["checks"]] == ["busbw_gbps"]
    assert "2 nodes pass over gloo" in proc.stdout
    with open(os.path.join(reports, "cluster.md"), encoding="utf-8") as handle:
        assert "| Transport between nodes | gloo |" in handle.read()


def test_a_firewall_on_the_rendezvous_host_fails_naming_the_host_within_the_check_timeout(cluster):
    inventory, (first, second) = cluster
    if shutil.which("nsenter") is None or shutil.which("iptables") is None or os.geteuid() != 0:
        pytest.skip("needs root, nsenter and iptables on this machine to firewall the test's own host")
    pid = docker("inspect", "-f", "{{.State.Pid}}", first).stdout.strip()
    rule = ["INPUT", "-p", "tcp", "--dport", "29500", "-j", "DROP"]
    # Only the first host's own network namespace: this machine's rules are untouched.
    subprocess.run(["nsenter", "-t", pid, "-n", "iptables", "-A", *rule], check=True)
    try:
        proc, elapsed = verify_cluster(inventory)
    finally:
        subprocess.run(["nsenter", "-t", pid, "-n", "iptables", "-D", *rule], check=True)
    assert proc.returncode != 0
    assert f"{second} cannot reach the rendezvous {first}:29500 on {first}" in proc.stdout, proc.stdout[-4000:]
    assert "did not answer within 5 s" in proc.stdout
    assert f"A firewall drops TCP 29500 between {second} and {first}" in proc.stdout
    # The pre-check ends the play, not torchrun's 60 s join timeout: no torchrun was started.
    assert "One torchrun per host" not in proc.stdout
    assert elapsed < 120, elapsed


def test_a_socket_ifname_no_host_has_fails_naming_the_host_and_its_interfaces(cluster):
    inventory, (first, _second) = cluster
    proc, _elapsed = verify_cluster(inventory, "-e", "gpu_verify_cluster_socket_ifname=ib9")
    assert proc.returncode != 0
    assert f"{first} has no network interface matching NCCL_SOCKET_IFNAME=ib9 (it has eth0, lo)" in proc.stdout
    assert "gpu_verify_cluster_socket_ifname=eth0" in proc.stdout


def test_a_rendezvous_name_that_does_not_resolve_fails_naming_the_host(cluster):
    inventory, (first, second) = cluster
    proc, _elapsed = verify_cluster(inventory, "-e", "gpu_verify_cluster_master_addr=gpuhost-cluster-nosuch.invalid")
    assert proc.returncode != 0
    assert f"{first} cannot resolve the rendezvous host gpuhost-cluster-nosuch.invalid ({first})" in proc.stdout
    assert f"or set gpu_verify_cluster_master_addr to {first}'s IP address" in proc.stdout


def test_a_rendezvous_port_another_process_holds_fails_naming_the_host(cluster):
    inventory, (first, _second) = cluster
    # A leftover job holding the port, as a torchrun of an earlier run would; it records its pid to be ended.
    holder = (
        "import os, socket, time; s = socket.socket(); "
        # SO_REUSEADDR as torchrun's store sets it: the earlier cases' connections may still be in TIME_WAIT.
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', 29500)); s.listen(); "
        "open('/run/gpuhost-port-holder.pid', 'w').write(str(os.getpid())); time.sleep(300)"
    )
    docker("exec", "-d", first, "python3", "-c", holder)
    try:
        deadline = time.monotonic() + 30
        while docker("exec", first, "test", "-s", "/run/gpuhost-port-holder.pid", check=False).returncode != 0:
            assert time.monotonic() < deadline, "the holder did not bind within 30 s"
            time.sleep(0.5)
        proc, _elapsed = verify_cluster(inventory)
    finally:
        docker("exec", first, "sh", "-c", "kill $(cat /run/gpuhost-port-holder.pid)", check=False)
    assert proc.returncode != 0
    assert f"{first}: TCP port 29500 is in use (port 29500 cannot be bound: Address already in use)" in proc.stdout, (
        proc.stdout[-4000:]
    )
    assert "or set gpu_verify_cluster_port to a free port" in proc.stdout

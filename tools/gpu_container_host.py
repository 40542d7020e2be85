#!/usr/bin/env python3
"""Make a GPU machine without systemd or a registry into a Docker GPU host, for gpu_verify's container mode.

Run as root on the GPU machine (`make gpu-test` calls it through tests/gpu/test_gpu_container.py):

  python3 tools/gpu_container_host.py up --docker-bin DIR --toolkit-debs DIR

What it does, and why it does it instead of the roles (docs/testing.md, "Container mode on a GPU machine"):
1. Docker: where none answers, copies dockerd, containerd, containerd-shim-runc-v2, runc, docker-init and
   docker from --docker-bin to /usr/local/bin and starts dockerd in its own session. The docker role cannot:
   it installs from apt and runs Docker under systemd, and this machine has neither an archive nor systemd.
   The machine has no iptables and no bridge, so the harness's daemon.json turns both off.
2. Images: no registry is reachable, so a CUDA image and a PyTorch image are made with `docker import` from
   the machine's own /usr tree (and /opt/torch for PyTorch). Neither holds NVIDIA's driver or nvidia-smi:
   whatever GPU a container sees, NVIDIA's runtime put there. The image config declares CUDA_VERSION and
   NVIDIA_REQUIRE_CUDA as nvidia/cuda images do, so gpu_verify judges them like real ones.
3. NVIDIA's toolkit: nvidia-container-toolkit-base from tests/fixtures/nvidia_toolkit (built from NVIDIA's
   source) is installed with dpkg, since no apt repository is reachable; the hook Docker needs for --gpus is
   unpacked from NVIDIA's nvidia-container-toolkit .deb (see toolkit_up).
4. The toolkit role's preflight (security floor), runtime and CDI stages run for real through
   ansible-playbook, with nvidia as Docker's default runtime (so a plain `docker run --gpus all` goes
   through NVIDIA's runtime); the role says Docker is not under systemd, and the harness restarts dockerd.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from ansible_run import run_playbook  # noqa: E402

DOCKER_BINARIES = ["dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker-init", "docker"]
# No iptables, no bridge on the GPU machine: containers must be run with --network=host there
# (gpu_verify_docker_run_args carries it into gpu_verify's containers).
HARNESS_DAEMON_JSON = {
    "storage-driver": "overlay2",
    "iptables": False,
    "ip6tables": False,
    "bridge": "none",
    "userland-proxy": False,
}
DAEMON_JSON = "/etc/docker/daemon.json"
DOCKERD_LOG = "/var/log/gpuhost-dockerd.log"
CUDA_IMAGE = "gpuhost-local/cuda:{cuda}-base"
PYTORCH_IMAGE = "gpuhost-local/pytorch:{torch}-cuda{cuda}"
# The host's userland, minus NVIDIA's driver: /usr/local/nvidia is what the runtime must inject.
ROOTFS_PATHS = ["usr", "bin", "sbin", "lib", "lib64", "etc/ld.so.conf", "etc/ld.so.conf.d", "etc/passwd", "etc/group"]
ROOTFS_EXCLUDES = [
    "usr/local/nvidia",
    "usr/lib/x86_64-linux-gnu/libnvidia-*",
    "usr/lib/x86_64-linux-gnu/libcuda*",
    "usr/bin/nvidia-*",
]


def log(message: str) -> None:
    print(f"gpu_container_host: {message}", flush=True)


def sh(*argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kwargs)


def docker_answers() -> bool:
    return shutil.which("docker") is not None and sh("docker", "info", check=False).returncode == 0


def _dockerd_pids() -> list[int]:
    return [int(p) for p in sh("pidof", "dockerd", check=False).stdout.split()]


def start_dockerd(timeout: int = 60) -> None:
    with open(DOCKERD_LOG, "ab") as out:
        subprocess.Popen(["dockerd", "--config-file", DAEMON_JSON], stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker_answers():
            return
        time.sleep(1)
    with open(DOCKERD_LOG, encoding="utf-8", errors="replace") as handle:
        tail = handle.read()[-3000:]
    raise SystemExit(f"dockerd did not answer within {timeout} s; {DOCKERD_LOG} ends with:\n{tail}")


def restart_dockerd() -> None:
    for pid in _dockerd_pids():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _dockerd_pids() and time.monotonic() < deadline:
        time.sleep(0.5)
    start_dockerd()


def docker_up(docker_bin: str | None) -> None:
    if docker_answers():
        log("Docker already answers: using it")
        return
    if shutil.which("dockerd") is None:
        if not docker_bin:
            raise SystemExit("no Docker here: pass --docker-bin DIR holding " + ", ".join(DOCKER_BINARIES))
        missing = [b for b in DOCKER_BINARIES if not os.path.exists(os.path.join(docker_bin, b))]
        if missing:
            raise SystemExit(f"--docker-bin {docker_bin} lacks {', '.join(missing)}")
        for name in DOCKER_BINARIES:
            shutil.copy2(os.path.join(docker_bin, name), os.path.join("/usr/local/bin", name))
            os.chmod(os.path.join("/usr/local/bin", name), 0o755)  # noqa: S103 - binaries on PATH
    os.makedirs(os.path.dirname(DAEMON_JSON), exist_ok=True)
    config = {}
    if os.path.exists(DAEMON_JSON):
        with open(DAEMON_JSON, encoding="utf-8") as handle:
            config = json.load(handle)
    config.update(HARNESS_DAEMON_JSON)
    with open(DAEMON_JSON, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    start = time.monotonic()
    start_dockerd()
    log(
        f"dockerd {sh('docker', 'version', '--format', '{{.Server.Version}}').stdout.strip()} answers "
        f"after {time.monotonic() - start:.1f} s"
    )


def driver_cuda_version() -> str:
    banner = sh("nvidia-smi").stdout
    return banner.split("CUDA Version:")[1].split()[0]


def import_image(name: str, paths: list[str], env: dict[str, str]) -> None:
    found = sh("docker", "image", "inspect", "--format", "{{json .Config.Env}}", name, check=False)
    if found.returncode == 0 and sorted(json.loads(found.stdout)) == sorted(f"{k}={v}" for k, v in env.items()):
        log(f"image {name} already here")
        return
    sh("docker", "rmi", "-f", name, check=False)
    start = time.monotonic()
    tar = subprocess.Popen(
        [
            "tar",
            "-C",
            "/",
            "--ignore-failed-read",
            *[f"--exclude={e}" for e in ROOTFS_EXCLUDES],
            "-cf",
            "-",
            *[p for p in paths if os.path.lexists("/" + p)],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    changes = [arg for key, value in env.items() for arg in ("--change", f"ENV {key}={value}")]
    subprocess.run(["docker", "import", *changes, "-", name], stdin=tar.stdout, check=True, capture_output=True)
    tar.wait()
    size = sh("docker", "image", "inspect", "--format", "{{.Size}}", name).stdout.strip()
    log(f"image {name}: {int(size) / 1e9:.1f} GB in {time.monotonic() - start:.1f} s")


def images_up() -> dict[str, str]:
    cuda = driver_cuda_version()
    torch_python = shutil.which("python3")
    probe = sh(
        torch_python, "-c", "import torch, sys; print(torch.__version__.split('+')[0], torch.version.cuda, sys.prefix)"
    )
    torch_version, torch_cuda, prefix = probe.stdout.split()
    # As in nvidia/cuda images: the runtime mounts the driver's files at their host paths, and this machine's
    # driver lives under /usr/local/nvidia, the directories nvidia/cuda images put first on PATH and the
    # library path for the same reason.
    base_env = {
        "PATH": "/usr/local/nvidia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib:/usr/local/nvidia/lib64",
        "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
    }
    cuda_image = CUDA_IMAGE.format(cuda=cuda)
    import_image(
        cuda_image, ROOTFS_PATHS, {**base_env, "CUDA_VERSION": f"{cuda}.0", "NVIDIA_REQUIRE_CUDA": f"cuda>={cuda}"}
    )
    torch_root = os.path.dirname(prefix) if os.path.basename(prefix) == ".venv" else prefix
    pytorch_image = PYTORCH_IMAGE.format(torch=torch_version, cuda=torch_cuda)
    import_image(
        pytorch_image,
        ROOTFS_PATHS + [torch_root.lstrip("/")],
        {
            **base_env,
            "PATH": f"{prefix}/bin:{base_env['PATH']}",
            "CUDA_VERSION": f"{torch_cuda}.0",
            "NVIDIA_REQUIRE_CUDA": f"cuda>={torch_cuda}",
        },
    )
    # Proof that the images bring no driver of their own: without NVIDIA's runtime they find no nvidia-smi.
    bare = sh(
        "docker",
        "run",
        "--rm",
        "--network=host",
        "--runtime=runc",
        cuda_image,
        "sh",
        "-c",
        "command -v nvidia-smi",
        check=False,
    )
    if bare.returncode == 0:
        raise SystemExit(f"{cuda_image} holds nvidia-smi ({bare.stdout.strip()}): it would prove nothing")
    return {"cuda": cuda_image, "pytorch": pytorch_image}


def toolkit_up(debs: str) -> str:
    base = sorted(glob.glob(os.path.join(debs, "nvidia-container-toolkit-base_*.deb")))
    full = sorted(glob.glob(os.path.join(debs, "nvidia-container-toolkit_*.deb")))
    if not base or not full:
        raise SystemExit(
            f"{debs} lacks nvidia-container-toolkit-base and nvidia-container-toolkit .debs: build them with "
            f"tests/fixtures/nvidia_toolkit/build.py --out {debs}"
        )
    sh("dpkg", "-i", base[-1])
    # Docker accepts --gpus only where nvidia-container-runtime-hook is on PATH. Its package depends on
    # libnvidia-container-tools, which cannot be built here, so the hook is unpacked, not dpkg-installed.
    # NVIDIA's runtime removes the hook from the container spec in its (jit-)CDI modes: it never runs, and if
    # it did, the missing nvidia-container-cli would fail the container.
    with tempfile.TemporaryDirectory() as tmp:
        sh("dpkg-deb", "-x", full[-1], tmp)
        shutil.copy2(os.path.join(tmp, "usr", "bin", "nvidia-container-runtime-hook"), "/usr/local/bin/")
    version = sh("nvidia-ctk", "--version").stdout.splitlines()[0]
    log(f"installed {os.path.basename(base[-1])}, hook from {os.path.basename(full[-1])}: {version}")
    return version


def toolkit_role_up() -> None:
    result = run_playbook(
        "playbooks/site.yml",
        "inventories/local/hosts.yml",
        "--tags",
        "nvidia_container_toolkit_preflight,nvidia_container_toolkit_configure,nvidia_container_toolkit_cdi",
        "-e",
        "nvidia_container_toolkit_default_runtime=true",
    )
    print(result.stdout[-6000:])
    if result.returncode != 0:
        raise SystemExit("the toolkit role's runtime and CDI stages failed (output above)")
    restart_dockerd()
    runtimes = json.loads(sh("docker", "info", "--format", "{{json .Runtimes}}").stdout)
    default = sh("docker", "info", "--format", "{{.DefaultRuntime}}").stdout.strip()
    log(f"Docker runtimes {sorted(runtimes)}, default {default}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up"])
    parser.add_argument("--docker-bin", default=os.environ.get("GPUHOST_DOCKER_BIN"))
    parser.add_argument("--toolkit-debs", default=os.environ.get("GPUHOST_TOOLKIT_DEBS"))
    parser.add_argument("--images-json", help="write the two image names here")
    args = parser.parse_args(argv)
    if not args.toolkit_debs:
        parser.error("--toolkit-debs (or GPUHOST_TOOLKIT_DEBS) is required")
    docker_up(args.docker_bin)
    images = images_up()
    toolkit_up(args.toolkit_debs)
    toolkit_role_up()
    if args.images_json:
        with open(args.images_json, "w", encoding="utf-8") as handle:
            json.dump(images, handle)
    print(json.dumps(images))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Container mode on a real GPU: NVIDIA's real toolkit, `docker run --gpus all`, CDI, the smoke test in a container.

Run as root on the GPU host by `make gpu-test`. It needs Docker: one that answers, or Debian's docker.io
binaries in GPUHOST_DOCKER_BIN, and NVIDIA's toolkit .debs in GPUHOST_TOOLKIT_DEBS
(tests/fixtures/nvidia_toolkit/build.py --out DIR). tools/gpu_container_host.py says what the harness does
in place of the docker role on a machine without systemd or registry. Skipped without a GPU or those inputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from ansible_run import ROOT, run_playbook

sys.path.insert(0, os.path.join(ROOT, "tools"))
import gpu_container_host  # noqa: E402
from test_gpu_host import LOCAL, _smi_works, smi_rows  # noqa: E402


def _docker_reachable() -> bool:
    if gpu_container_host.docker_answers():
        return True
    return bool(os.environ.get("GPUHOST_DOCKER_BIN")) or shutil.which("dockerd") is not None


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _smi_works(), reason="no NVIDIA GPU here: nvidia-smi is missing or finds no GPU"),
    pytest.mark.skipif(not _docker_reachable(), reason="no Docker here and no GPUHOST_DOCKER_BIN"),
    pytest.mark.skipif(not os.environ.get("GPUHOST_TOOLKIT_DEBS"), reason="GPUHOST_TOOLKIT_DEBS is not set"),
]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    out = tmp_path_factory.mktemp("harness") / "images.json"
    assert gpu_container_host.main(["up", "--images-json", str(out)]) == 0
    return json.loads(out.read_text())


def verify(images: dict, mode: str, fetch_dir: str, *extra: str) -> subprocess.CompletedProcess:
    variables = {
        "gpu_verify_mode": mode,
        "gpu_verify_cuda_image": images["cuda"],
        "gpu_verify_pytorch_image": images["pytorch"],
        "gpu_verify_image_pull": False,
        # The GPU machine has no bridge network (tools/gpu_container_host.py).
        "gpu_verify_docker_run_args": ["--network=host"],
        "gpu_verify_fetch_dir": fetch_dir,
    }
    return run_playbook("playbooks/verify.yml", LOCAL, "-e", json.dumps(variables), *extra)


def test_nvidia_ctk_is_nvidias_real_one_and_docker_defaults_to_its_runtime(images):
    version = subprocess.run(["nvidia-ctk", "--version"], capture_output=True, text=True, check=True).stdout
    assert "NVIDIA Container Toolkit CLI version" in version
    info = json.loads(
        subprocess.run(["docker", "info", "--format", "{{json .}}"], capture_output=True, text=True, check=True).stdout
    )
    assert info["DefaultRuntime"] == "nvidia"
    assert info["Runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"


def test_container_mode_passes_through_nvidias_runtime_and_cdi(images, tmp_path):
    result = verify(images, "container", str(tmp_path))
    saved = os.environ.get("GPUHOST_REPORT_COPY")
    if saved:
        os.makedirs(saved, exist_ok=True)
        with open(os.path.join(saved, "verify-container.log"), "w", encoding="utf-8") as handle:
            handle.write(result.stdout)
        shutil.copytree(tmp_path, os.path.join(saved, "container"), dirs_exist_ok=True)
    assert result.returncode == 0, result.stdout[-5000:]
    words = " ".join(result.stdout.split())
    for task in ("The container sees exactly the host's GPUs", "The CDI container sees exactly the host's GPUs"):
        section = words.split(f"TASK [gpuhost.provision.gpu_verify : {task}]", 1)[1].split(" TASK [", 1)[0]
        # The header is padded with asterisks to the terminal's width, and ansible.posix.profile_tasks (where
        # installed) prints a time line ending in asterisks after it: the result follows the last asterisk.
        assert section.rsplit("*", 1)[-1].strip().startswith("ok: [localhost]"), section
    report = json.loads((tmp_path / "localhost" / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert report["mode"] == "container"
    assert report["toolkit_version"] == "1.20.0"
    assert report["toolkit_open_cves"] == []
    assert len(report["gpus"]) == len(smi_rows())
    assert report["ddp"]["ddp_params_equal"] is True
    assert report["ddp"]["allreduce_sum_ok"] is True


def test_an_image_the_driver_cannot_run_is_refused_before_any_container(images, tmp_path):
    too_new = images["cuda"] + "-requires-cuda-99"
    subprocess.run(
        ["docker", "build", "-q", "-t", too_new, "-"],
        input=f"FROM {images['cuda']}\nENV NVIDIA_REQUIRE_CUDA=cuda>=99.0\n",
        text=True,
        capture_output=True,
        check=True,
    )
    result = verify({**images, "cuda": too_new}, "container", str(tmp_path))
    assert result.returncode != 0
    words = " ".join(result.stdout.split())
    assert f"{too_new} requires cuda>=99.0" in words
    assert "A CUDA container with --gpus all" not in words

"""gpuhost.provision.container_image run through Ansible against this machine's real Docker engine.

The images are made here with `docker import` (no registry is reachable), so `pull` is never exercised.
"""

import io
import shutil
import subprocess
import tarfile
import uuid

import pytest
from ansible_run import run_module


def _docker_answers():
    return (
        shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    )


pytestmark = pytest.mark.skipif(not _docker_answers(), reason="no Docker engine answers here")


def docker(*args, **kwargs):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, **kwargs)


@pytest.fixture
def image_archive(tmp_path):
    """A one-file image declaring a CUDA requirement, saved to an archive and removed from the engine."""
    name = f"gpuhost-test/cuda-like:{uuid.uuid4().hex[:8]}"
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w") as tar:
        info = tarfile.TarInfo("etc/marker")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ok"))
    subprocess.run(
        ["docker", "import", "--change", "ENV CUDA_VERSION=12.4.1", "-", name],
        input=rootfs.getvalue(),
        capture_output=True,
        check=True,
    )
    archive = tmp_path / "image.tar"
    docker("save", "--output", str(archive), name)
    docker("rmi", name)
    yield name, archive
    subprocess.run(["docker", "rmi", "-f", name], capture_output=True, check=False)


def test_a_missing_image_is_loaded_from_its_archive_then_left_alone(image_archive):
    name, archive = image_archive
    args = {"name": name, "archives": [str(archive)], "pull": False}

    checked = run_module("container_image", args, check=True)
    assert checked["changed"] is True and checked["source"] == "archive"
    assert subprocess.run(["docker", "image", "inspect", name], capture_output=True, check=False).returncode != 0

    loaded = run_module("container_image", args)
    assert loaded["changed"] is True
    assert loaded["source"] == "archive"
    assert "CUDA_VERSION=12.4.1" in loaded["env"]

    again = run_module("container_image", args)
    assert again["changed"] is False
    assert again["source"] == "present"
    assert again["id"] == loaded["id"]


def test_no_archive_and_no_pull_fails_naming_what_was_tried(image_archive, tmp_path):
    name, _archive = image_archive
    result = run_module("container_image", {"name": name, "archives": [str(tmp_path / "missing.tar")], "pull": False})
    assert result.get("failed") is True
    assert name in result["msg"]
    assert "missing.tar (no such file)" in result["msg"]
    assert "pull=false" in result["msg"]

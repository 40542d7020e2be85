"""execution-environment.yml (ansible-builder v3) makes a build context that holds what the collection needs.

No registry is reachable here, so no image is built: `ansible-builder create` writes the context (the
Containerfile and _build/), and the test reads it. The collection itself goes in as the tarball
`ansible-galaxy collection build` makes (make ee does the same two steps).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile

import yaml
from ansible_run import ROOT, cli

EE = f"{ROOT}/execution-environment.yml"


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def create_context(tmp_path):
    # The EE file's paths are relative to it: a copy beside a fresh dist/ keeps the checkout untouched.
    shutil.copy(EE, tmp_path / "execution-environment.yml")
    built = subprocess.run(
        [cli("ansible-galaxy"), "collection", "build", ROOT, "--output-path", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    created = subprocess.run(
        [
            cli("ansible-builder"),
            "create",
            "-f",
            "execution-environment.yml",
            "--context",
            "context",
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    return tmp_path / "context"


def test_build_context_holds_what_the_collection_needs(tmp_path):
    context = create_context(tmp_path)
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"

    # ansible-core in meta/runtime.yml's range, Python 3.11 for ansible-core 2.19.
    runtime = load(f"{ROOT}/meta/runtime.yml")
    assert runtime["requires_ansible"] == ">=2.16.0"
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.16.0,<2.20 ansible-runner' in containerfile
    assert 'PYCMD="/usr/bin/python3.11"' in containerfile

    # Every collection galaxy.yml and requirements.yml depend on, plus the azure_rm inventory's.
    collections = {c["name"]: c.get("version") for c in load(build / "requirements.yml")["collections"]}
    galaxy = load(f"{ROOT}/galaxy.yml")
    for name, version in galaxy["dependencies"].items():
        assert collections.get(name) == version, (name, collections)
    for entry in load(f"{ROOT}/requirements.yml")["collections"]:
        assert entry["name"] in collections
    with open(f"{ROOT}/inventories/azure-nc-a100/azure_rm.yml", encoding="utf-8") as handle:
        plugin = yaml.safe_load(handle)["plugin"]
    assert plugin.rsplit(".", 1)[0] in collections
    # ansible.cfg's callback comes from one of them.
    with open(f"{ROOT}/ansible.cfg", encoding="utf-8") as handle:
        callback = next(line for line in handle if line.startswith("callbacks_enabled")).split("=")[1].strip()
    assert callback.rsplit(".", 1)[0] in collections

    # The azure_rm inventory's Python packages, and ssh for the GPU hosts.
    python = (build / "requirements.txt").read_text().split()
    for package in ("azure-identity", "azure-mgmt-compute", "azure-mgmt-network", "azure-mgmt-core", "netaddr"):
        assert package in python
    assert "openssh-clients [platform:rpm]" in (build / "bindep.txt").read_text()

    # The collection itself: the built tarball, installed after the dependencies in the galaxy stage.
    (tarball,) = (build / "collections").glob("gpuhost-provision-*.tar.gz")
    assert tarball.name == f"gpuhost-provision-{galaxy['version']}.tar.gz"
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "roles/nvidia_driver/tasks/main.yml" in names
    assert "playbooks/site.yml" in names
    assert not any(n.startswith(("dist", ".cache", "tests/output")) for n in names)
    galaxy_stage = containerfile.split("FROM base AS galaxy", 1)[1].split("FROM base AS builder", 1)[0]
    assert "-r requirements.yml" in galaxy_stage
    assert galaxy_stage.index("-r requirements.yml") < galaxy_stage.index("/build/collections/gpuhost-provision-")
    assert "ansible-execution-environment=true" in containerfile

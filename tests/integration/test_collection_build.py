"""The repo builds and installs as the collection gpuhost.provision; roles, modules and playbooks resolve by FQCN."""

import glob
import os
import subprocess
import tarfile

from ansible_run import ROOT, cli


def test_build_install_and_use_by_fqcn(tmp_path):
    built = subprocess.run(
        [cli("ansible-galaxy"), "collection", "build", ROOT, "--output-path", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (artifact,) = glob.glob(str(tmp_path / "gpuhost-provision-*.tar.gz"))
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    assert "roles/docker/tasks/main.yml" in names
    assert "plugins/modules/docker_daemon_json.py" in names
    assert "playbooks/site.yml" in names
    assert not any(n.startswith((".venv", ".collections", ".cache", "reports")) for n in names)

    target = tmp_path / "collections"
    # Only the installed copy: not the repo's ansible.cfg (make exports it), which links this repo in.
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(target),
        ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "integration", "ansible.cfg"),
    )

    def run(cmd):
        return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tmp_path, env=env)

    installed = run([cli("ansible-galaxy"), "collection", "install", artifact, "-p", str(target)])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    doc = run([cli("ansible-doc"), "-t", "module", "gpuhost.provision.docker_daemon_json"])
    assert doc.returncode == 0, doc.stderr
    assert f"{target}/ansible_collections/gpuhost/provision/plugins/modules/docker_daemon_json.py" in doc.stdout
    assert "nvidia-container-runtime" in doc.stdout  # its EXAMPLES, read from the installed copy
    syntax = run([cli("ansible-playbook"), "--syntax-check", "-i", "localhost,", "gpuhost.provision.site"])
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr

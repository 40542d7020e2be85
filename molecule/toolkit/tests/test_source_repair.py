"""A source the toolkit role wrote is always rewritten: a broken one left by an earlier run is repaired.

An earlier run with a bad repository URL left a source apt cannot parse, which breaks apt for the whole
host, the docker role's installs included. A rerun of site.yml with good values must repair it.
"""

import os

import pytest

SOURCE = "/etc/apt/sources.list.d/nvidia-container-toolkit.sources"


def test_a_broken_source_of_ours_is_repaired_by_a_rerun(host, run_play):
    if host.system_info.codename != "bookworm":
        # site.yml starts with nvidia_driver, which supports Debian 12 and Ubuntu 22.04/24.04, not Debian 13.
        pytest.skip("site.yml's nvidia_driver role does not support Debian 13: run on bookworm")
    good = host.file(SOURCE).content_string
    host.check_output(
        f"printf '# Managed by gpuhost.provision (Ansible); local changes are overwritten.\\nTypes: deb\\n"
        f"URIs: nvidia.github.io libnvidia-container\\nSuites: /\\n' > {SOURCE}"
    )
    assert host.run("apt-cache policy").rc != 0  # apt is broken for every package on the host
    site = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "site.yml")
    result = run_play(site, extra_vars={"gpuhost_hosts": "all", "gpu_verify_enabled": False})
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.file(SOURCE).content_string == good
    assert host.run("apt-cache policy").rc == 0

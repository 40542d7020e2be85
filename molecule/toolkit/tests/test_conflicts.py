"""NVIDIA's install guide leaves nvidia-container-toolkit.list and its own keyring: set aside, not fatal.

Beside the role's nvidia-container-toolkit.sources apt refuses every source ("Conflicting values set for option
Signed-By"). The mirror is the scenario's STAND-IN of nvidia.github.io; apt's refusal is real.
"""

import shlex

GUIDE_LIST = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
GUIDE_KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"
# docs.nvidia.com's install guide: NVIDIA's list with signed-by added by sed, $(ARCH) as NVIDIA writes it.
GUIDE_LINE = f"deb [signed-by={GUIDE_KEYRING}] http://127.0.0.1:8080/nvidia/$(ARCH) /"


def test_nvidia_install_guides_source_and_keyring_are_set_aside(host, run_play):
    host.check_output(f"cp /srv/gpuhost-test-mirror/nvidia/amd64/gpg {GUIDE_KEYRING}")
    host.check_output(f"echo {shlex.quote(GUIDE_LINE)} > {GUIDE_LIST}")
    policy = host.run("apt-cache policy")
    try:
        assert policy.rc != 0
        assert "Conflicting values set for option Signed-By" in policy.stderr, policy.stderr
        result = run_play()
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        host.run(f"rm -f {GUIDE_LIST} {GUIDE_KEYRING}")
    assert f"{GUIDE_LIST} (left by another tool, e.g. an install guide) conflicts with gpuhost's" in result.stdout
    assert host.file(GUIDE_LIST + ".gpuhost.disabled").content_string.strip() == GUIDE_LINE
    assert host.file(GUIDE_KEYRING + ".gpuhost.disabled").exists
    assert host.run("apt-cache policy").rc == 0
    host.check_output(f"rm -f {GUIDE_LIST}.gpuhost.disabled {GUIDE_KEYRING}.gpuhost.disabled")

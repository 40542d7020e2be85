"""NVIDIA's install guide leaves nvidia-container-toolkit.list and its own keyring: set aside, not fatal.

Beside the role's nvidia-container-toolkit.sources apt refuses every source ("Conflicting values set for option
Signed-By"). The mirror is the scenario's STAND-IN of nvidia.github.io; apt's refusal is real.
"""

from conftest import set_aside_install_guide_source

GUIDE_LIST = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
GUIDE_KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"
# docs.nvidia.com's install guide: NVIDIA's list with signed-by added by sed, $(ARCH) as NVIDIA writes it.
GUIDE_LINE = f"deb [signed-by={GUIDE_KEYRING}] http://127.0.0.1:8080/nvidia/$(ARCH) /"


def test_nvidia_install_guides_source_and_keyring_are_set_aside(host, run_play):
    set_aside_install_guide_source(
        host,
        run_play,
        guide_list=GUIDE_LIST,
        guide_keyring=GUIDE_KEYRING,
        guide_line=GUIDE_LINE,
        gpg="/srv/gpuhost-test-mirror/nvidia/amd64/gpg",
    )

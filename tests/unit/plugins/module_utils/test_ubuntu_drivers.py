"""The Ubuntu path's decisions, from what Canonical's ubuntu-drivers prints (captured from its real code
run against the stand-in archive, molecule/driver_ubuntu_*) and dpkg's state, never its English sentences."""

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.ubuntu_drivers import (
    PlanError,
    default_branch,
    hold_set,
    install_argv,
    normalize_branch,
    nvswitch_present,
    parse_dpkg_status,
    parse_list,
    plan,
    upstream_version,
    version_key,
)

# `ubuntu-drivers list --gpgpu --include-dkms` (0.9.7.6ubuntu3.3) on the noble stand-in, azure kernel.
LIST_AZURE = """\
nvidia-driver-580-server-open, (kernel modules provided by linux-modules-nvidia-580-server-open-azure)
nvidia-driver-535-server, (kernel modules provided by linux-modules-nvidia-535-server-azure)
nvidia-driver-580-server, (kernel modules provided by linux-modules-nvidia-580-server-azure)
nvidia-driver-570-server, (kernel modules provided by linux-modules-nvidia-570-server-azure)
"""
# The same after a lowlatency kernel without prebuilt modules became the newest.
LIST_LOWLATENCY = """\
nvidia-driver-580-server-open, (kernel modules provided by nvidia-dkms-580-server-open)
nvidia-driver-580-server, (kernel modules provided by nvidia-dkms-580-server)
"""
A100 = {"address": "0000:00:07.0", "device_id": "0x20b5", "class": "0x030200"}
A4000 = {"address": "0000:00:08.0", "device_id": "0x24b0", "class": "0x030000"}
V100 = {"address": "0000:00:09.0", "device_id": "0x1db4", "class": "0x030200"}
B200 = {"address": "0000:00:0a.0", "device_id": "0x2901", "class": "0x030200"}


def test_list_lines_are_read_as_data():
    entries = parse_list("ERROR:root:aplay command not found\n" + LIST_AZURE + "nvidia-driver-470\n")
    assert entries[0] == {
        "package": "nvidia-driver-580-server-open",
        "modules": "linux-modules-nvidia-580-server-open-azure",
    }
    assert entries[-1] == {"package": "nvidia-driver-470", "modules": None}
    assert len(entries) == 5


@pytest.mark.parametrize(
    ("given", "flavour"),
    [
        ("580-server", "580-server"),
        ("nvidia:570-server", "570-server"),
        ("580-server-open", "580-server-open"),
        ("580", "580"),
    ],
)
def test_branches_normalize(given, flavour):
    assert normalize_branch(given) == flavour


@pytest.mark.parametrize("bad", ["", "nvidia", "580-beta", "amdgpu:580", "58-server"])
def test_bad_branches_are_refused(bad):
    with pytest.raises(ValueError, match="not an Ubuntu NVIDIA driver branch"):
        normalize_branch(bad)


def test_policy_open_modules_for_turing_and_newer_proprietary_for_older():
    assert default_branch([A100, A4000]) == "580-server-open"
    assert default_branch([B200]) == "580-server-open"
    assert default_branch([A100, V100]) == "580-server"  # one Volta GPU: the open modules would not drive it
    assert default_branch([]) == "580-server-open"
    assert default_branch([V100], "570-server-open") == "570-server"


def test_plan_for_a_prebuilt_module_is_headless_plus_linux_modules():
    chosen = plan(parse_list(LIST_AZURE), "580-server-open", gpgpu=True, include_dkms=False)
    assert chosen["packages"] == [
        "nvidia-headless-no-dkms-580-server-open",
        "linux-modules-nvidia-580-server-open-azure",
    ]
    assert chosen["dkms"] is False
    desktop = plan(parse_list(LIST_AZURE), "570-server", gpgpu=False, include_dkms=False)
    assert desktop["packages"] == ["nvidia-driver-570-server", "linux-modules-nvidia-570-server-azure"]


def test_a_branch_not_offered_names_what_is():
    with pytest.raises(
        PlanError,
        match=r"no driver for branch 550-server .*\(it offers: 535-server, 570-server, "
        r"580-server, 580-server-open\)",
    ):
        plan(parse_list(LIST_AZURE), "nvidia:550-server", gpgpu=True, include_dkms=False)


def test_a_kernel_without_prebuilt_modules_needs_include_dkms():
    with pytest.raises(PlanError, match="would need --include-dkms .*nvidia_driver_ubuntu_include_dkms=true"):
        plan(
            parse_list(LIST_LOWLATENCY),
            "580-server",
            gpgpu=True,
            include_dkms=False,
            kernel="kernel 6.11.0-29-lowlatency",
        )
    chosen = plan(parse_list(LIST_LOWLATENCY), "580-server", gpgpu=True, include_dkms=True)
    assert chosen["dkms"] is True
    assert chosen["packages"] == ["nvidia-headless-no-dkms-580-server", "nvidia-dkms-580-server"]
    assert install_argv("580-server", True, True) == [
        "ubuntu-drivers",
        "install",
        "--gpgpu",
        "--include-dkms",
        "nvidia:580-server",
    ]


def test_no_kernel_module_package_at_all_fails():
    with pytest.raises(PlanError, match="no kernel module package"):
        plan(parse_list("nvidia-driver-580-server\n"), "580-server", gpgpu=True, include_dkms=True)


def test_install_names_the_branch_on_the_subcommand():
    # The group-level --gpgpu of ubuntu-drivers 0.9.x sets a misspelt attribute and does nothing.
    assert install_argv("nvidia:580-server-open", True, False) == [
        "ubuntu-drivers",
        "install",
        "--gpgpu",
        "nvidia:580-server-open",
    ]
    assert install_argv("580", False, False) == ["ubuntu-drivers", "install", "nvidia:580"]


def test_dpkg_state_and_versions():
    state = parse_dpkg_status(
        "nvidia-headless-no-dkms-580-server\thi \t580.95.05-0ubuntu0.24.04.1\n"
        "linux-modules-nvidia-580-server-azure\tiU \t6.8.0.1041.47\n"
        "nvidia-utils-580-server\tun \t\n"
    )
    assert state["nvidia-headless-no-dkms-580-server"]["installed"] is True
    assert state["linux-modules-nvidia-580-server-azure"]["installed"] is False  # unpacked, not configured
    assert state["nvidia-utils-580-server"]["installed"] is False
    assert upstream_version("580.95.05-0ubuntu0.24.04.1") == "580.95.05"
    assert upstream_version("1:535.247.01-1~deb12u1") == "535.247.01"
    assert upstream_version("") is None


def test_hold_set_is_the_branch_userspace_and_never_linux_modules():
    installed = [
        "nvidia-headless-no-dkms-580-server-open",
        "nvidia-utils-580-server-open",
        "libnvidia-compute-580-server-open",
        "libnvidia-cfg1-580-server-open",
        "nvidia-compute-utils-580-server-open",
        "nvidia-kernel-common-580-server-open",
        "nvidia-firmware-580-server-open-580.95.05",
        "nvidia-dkms-580-server-open",
        "linux-modules-nvidia-580-server-open-azure",
        "linux-modules-nvidia-580-server-open-6.8.0-1041-azure",
        "nvidia-utils-580-server",
        "libc6",
        "ubuntu-drivers-common",
    ]
    held = hold_set(installed, "580-server-open")
    assert "nvidia-utils-580-server-open" in held and "nvidia-headless-no-dkms-580-server-open" in held
    assert "nvidia-firmware-580-server-open-580.95.05" in held and "nvidia-dkms-580-server-open" in held
    assert not [p for p in held if p.startswith("linux-")]
    assert "nvidia-utils-580-server" not in held  # another flavour
    assert hold_set(installed, "580-server") == ["nvidia-utils-580-server"]


def test_nvswitch_and_kernel_order():
    assert nvswitch_present([{"device_id": "0x22a3"}]) and nvswitch_present([{"device_id": "0x1af1"}])
    assert not nvswitch_present([A100, A4000])
    assert sorted(["6.8.0-1041-azure", "6.11.0-29-lowlatency", "6.8.0-88-generic"], key=version_key)[-1] == (
        "6.11.0-29-lowlatency"
    )

"""nvidia_driver on Debian 12 without a GPU but with nvidia_driver_install_without_gpu: real packages."""

import json

from conftest import task_status

# configure.yml's one task for the holds and the apt and modprobe files.
CONFIGURED = "The driver packages are held, nouveau blacklisted and unattended-upgrades told to leave them alone"


def test_driver_packages_installed_and_held(host):
    for name in ("nvidia-driver", "nvidia-smi"):
        assert host.package(name).is_installed, name
        assert host.check_output(f"dpkg-query -W -f '${{Status}}' {name}").startswith("hold "), name


def test_nonfree_source_is_deb822_and_signed(host):
    source = host.file("/etc/apt/sources.list.d/gpuhost-debian-nonfree.sources").content_string
    assert "Components: contrib non-free non-free-firmware" in source
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in source


def test_nouveau_blacklisted(host):
    conf = host.file("/etc/modprobe.d/gpuhost-blacklist-nouveau.conf")
    assert conf.mode == 0o644
    assert "blacklist nouveau" in conf.content_string.splitlines()


def test_no_reboot_happened_even_though_allowed(host):
    # nvidia_driver_reboot is true in this scenario, but with no GPU a reboot cannot load anything.
    assert host.check_output("ps -o lstart= -p 1") == host.file("/opt/gpuhost-test/pid1-start").content_string.strip()


def test_reboot_pending_is_recorded_as_a_local_fact(host):
    fact = json.loads(host.file("/etc/ansible/facts.d/gpuhost_nvidia_driver.fact").content_string)
    assert fact["reboot_pending"] is True and fact["gpus_on_pci_bus"] == 0
    # The installed driver's upstream version (Debian's nvidia-smi package), recorded for the next run.
    assert fact["installed"] == host.check_output("dpkg-query -W -f '${Version}' nvidia-smi").split("-")[0]
    assert fact["rebooted_for"] == ""


def test_rerun_says_reboot_pending_and_changes_nothing(run_play):
    result = run_play()
    assert result.returncode == 0
    assert "REBOOT PENDING" in result.stdout
    assert "changed=0" in result.stdout


def test_rerun_of_a_complete_image_skips_the_install_path(run_play):
    result = run_play()
    assert result.returncode == 0, result.stdout
    # One read-only check found everything in place, so none of the install path's tasks ran.
    assert task_status(result.stdout, "An image that is already complete is not walked again") == "ok"
    # The install path's files are included only when they run: none of their tasks shows, not even skipped.
    for task in ["Debian's NVIDIA driver packages are installed", CONFIGURED, "Secure Boot state is read",
                 "The reboot-pending state is a local fact for later plays and tools"]:
        assert task not in result.stdout


def test_drift_sends_the_rerun_down_the_install_path_which_repairs_it(host, run_play):
    blacklist = "/etc/modprobe.d/gpuhost-blacklist-nouveau.conf"
    before = host.file(blacklist).content_string
    host.run_expect([0], "apt-mark unhold nvidia-smi && echo '# edited' >> " + blacklist)
    result = run_play()
    assert result.returncode == 0, result.stdout
    assert "nvidia-smi: not held" in result.stdout and f"{blacklist}: content differs" in result.stdout
    assert task_status(result.stdout, CONFIGURED) == "changed"
    # The blacklist changed, so the initramfs is rebuilt (where there is one: this container has none).
    assert task_status(result.stdout, "Rebuild initramfs") != "skipping"
    assert "nvidia-smi" in host.check_output("apt-mark showhold").split()
    assert host.file(blacklist).content_string == before
    # Repaired: the next rerun is the one-check run again.
    again = run_play()
    assert task_status(again.stdout, "An image that is already complete is not walked again") == "ok"
    assert "changed=0" in again.stdout


def test_a_released_hold_alone_is_put_back_without_an_initramfs_rebuild(host, run_play):
    host.run_expect([0], "apt-mark unhold nvidia-driver")
    result = run_play()
    assert result.returncode == 0, result.stdout
    assert "nvidia-driver: not held" in result.stdout
    assert task_status(result.stdout, CONFIGURED) == "changed"
    assert task_status(result.stdout, "Rebuild initramfs") == "skipping"
    assert "nvidia-driver" in host.check_output("apt-mark showhold").split()

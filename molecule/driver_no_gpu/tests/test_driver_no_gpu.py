"""nvidia_driver on a host with no NVIDIA GPU: nothing installed, a clear skip message."""


def test_nothing_installed(host):
    assert not host.package("nvidia-driver").is_installed
    assert not host.file("/etc/apt/sources.list.d/gpuhost-debian-nonfree.sources").exists
    assert not host.file("/etc/modprobe.d/gpuhost-blacklist-nouveau.conf").exists


def test_the_play_says_why(run_play):
    result = run_play()
    assert result.returncode == 0
    assert "No NVIDIA GPU on the PCI bus" in result.stdout
    assert "driver install skipped" in result.stdout
    assert "changed=0" in result.stdout

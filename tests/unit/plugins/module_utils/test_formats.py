import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.formats import (
    is_apt_url,
    is_debian_version,
    is_key_fingerprint,
)


@pytest.mark.parametrize(
    "value",
    [
        "https://download.docker.com/linux/ubuntu",
        "http://127.0.0.1:8080/nvidia/amd64",
        "https://nvidia.github.io/libnvidia-container/gpgkey",
        "file:///srv/mirror/nvidia",
        "file:/srv/mirror/nvidia",
    ],
)
def test_apt_urls(value):
    assert is_apt_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "download.docker.com/linux/ubuntu",
        "not a url",
        "ftp://example.org/x",
        "https://",
        "https://a b/",
        "",
        None,
        3,
        "file://relative",
        "https:/example.org",
    ],
)
def test_not_apt_urls(value):
    assert not is_apt_url(value)


@pytest.mark.parametrize(
    "value",
    ["9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88", "0xc95b321b61e88c1809c4f759ddcae044f796ecb0"],
)
def test_fingerprints(value):
    assert is_key_fingerprint(value)


@pytest.mark.parametrize("value", ["0EBFCD88", "8D81803C0EBFCD88", "9DC8 5822 9FC7 DD38 854A", "", None])
def test_short_or_bad_fingerprints(value):
    assert not is_key_fingerprint(value)


@pytest.mark.parametrize("value", ["1.17.8-1", "1.17.8", "5:27.3.1-1~ubuntu.24.04~noble", "1.17.*", "2.0.0~rc.1-1"])
def test_debian_versions(value):
    assert is_debian_version(value)


@pytest.mark.parametrize("value", ["v1.17.8", "1.17.8 -1", " 1.17.8-1", "latest", "1.17.8-", "", None, "1.17.8\n"])
def test_not_debian_versions(value):
    assert not is_debian_version(value)

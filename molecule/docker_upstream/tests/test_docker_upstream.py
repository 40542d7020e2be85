"""The docker role's upstream path, against the local STAND-IN of Docker's repo (molecule/docker_upstream/mirror.yml).

apt's signature check, the key pin and the version pin are real; the packages are stand-ins.
"""

import pytest
from conftest import daemon_json, keyring_fingerprints

MIRROR_KEY = "176FEBB7358A19ECAB18DF864365F319D00FE84D"
WRONG_KEY = "41F9 F059 8577 A1A9 72AA E6D8 D190 C7F8 B5FA AD9D"
PINNED = "5:27.3.1-1~debian.12~bookworm"


def test_source_is_deb822_and_signed_by_the_keyring(host):
    source = host.file("/etc/apt/sources.list.d/docker.sources").content_string
    assert "Signed-By: /etc/apt/keyrings/docker.gpg" in source
    assert "URIs: http://127.0.0.1:8080/docker" in source
    assert "Suites: bookworm" in source


def test_keyring_holds_exactly_the_pinned_key(host):
    keyring = host.file("/etc/apt/keyrings/docker.gpg")
    assert keyring.mode == 0o644
    assert keyring_fingerprints(host, "/etc/apt/keyrings/docker.gpg") == [MIRROR_KEY]


def test_packages_at_pinned_version_and_conflicts_gone(host):
    assert host.package("docker-ce").version == PINNED
    assert host.package("docker-ce-cli").version == PINNED
    # The repo offers 27.4.0 too: the pin, not luck, chose 27.3.1.
    for name in ("containerd.io", "docker-buildx-plugin", "docker-compose-plugin"):
        assert host.package(name).is_installed
    assert not host.package("runc").is_installed


def test_service_running_and_daemon_json_merged(host):
    assert host.service("docker").is_running
    config = daemon_json(host)
    assert config["registry-mirrors"] == ["https://mirror.example.internal"]
    assert config["log-driver"] == "json-file"


def test_wrong_fingerprint_fails_the_play_and_keeps_the_keyring(host, run_play):
    before = host.file("/etc/apt/keyrings/docker.gpg").sha256sum
    result = run_play(extra_vars={"docker_upstream_key_fingerprint": WRONG_KEY})
    assert result.returncode != 0
    assert f"expected {WRONG_KEY.replace(' ', '')}" in result.stdout
    assert MIRROR_KEY in result.stdout
    assert host.file("/etc/apt/keyrings/docker.gpg").sha256sum == before


@pytest.fixture
def reconverge(run_play):
    yield
    # A rerun after a failed one converges back (and proves the host was left repairable).
    assert run_play().returncode == 0


def test_key_apt_does_not_trust_fails_apt_for_real(host, run_play, reconverge):
    # The wrong key passes our fingerprint check (it is the one pinned) but did not sign the mirror:
    # apt's own gpgv check must refuse the repository.
    result = run_play(
        extra_vars={
            "docker_upstream_key_fingerprint": WRONG_KEY,
            "docker_upstream_key_url": "http://127.0.0.1:8080/docker/wrong.gpg",
        }
    )
    assert result.returncode != 0
    assert "apt refused the repository http://127.0.0.1:8080/docker" in result.stdout
    assert "NO_PUBKEY" in result.stdout  # apt's own reason, passed on


def test_unreachable_mirror_is_retried_then_named(host, run_play, reconverge):
    # Nothing listens on port 9: the source changes, and its refresh must fail, bounded, naming the URL.
    result = run_play(
        extra_vars={
            "docker_upstream_repo_url": "http://127.0.0.1:9/docker",
            "docker_upstream_key_url": "http://127.0.0.1:8080/docker/gpg",
        }
    )
    assert result.returncode != 0
    assert "apt could not refresh http://127.0.0.1:9/docker" in result.stdout
    assert "after 3 tries" in result.stdout
    assert "127.0.0.1:9" in result.stdout.split("apt said:", 1)[1]

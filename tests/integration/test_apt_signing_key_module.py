"""gpuhost.provision.apt_signing_key against a key server on 127.0.0.1 (the throwaway test keys)."""

from ansible_run import run_module

MIRROR = "176F EBB7 358A 19EC AB18 DF86 4365 F319 D00F E84D"
WRONG = "41F9F0598577A1A972AAE6D8D190C7F8B5FAAD9D"


def test_key_installed_dearmored_then_left_alone_offline(tmp_path, key_server):
    url, server = key_server
    dest = tmp_path / "keyrings" / "test.gpg"
    result = run_module("apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR, "dest": str(dest)})
    assert result["changed"] is True
    assert result["fingerprints"] == [MIRROR.replace(" ", "")]
    assert dest.read_bytes()[0] & 0x80  # binary keyring, as gpgv reads best
    server.shutdown()
    again = run_module("apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR, "dest": str(dest)})
    assert again["changed"] is False


def test_wrong_fingerprint_fails_and_writes_nothing(tmp_path, key_server):
    url, _ = key_server
    dest = tmp_path / "test.gpg"
    result = run_module("apt_signing_key", {"url": f"{url}/wrong.pub.asc", "fingerprint": MIRROR, "dest": str(dest)})
    assert result["failed"] is True
    assert WRONG in result["msg"]
    assert MIRROR.replace(" ", "") in result["msg"]
    assert f"{url}/wrong.pub.asc" in result["msg"]
    assert not dest.exists()


def test_unreachable_url_is_retried_then_named(tmp_path, key_server):
    url, server = key_server
    server.shutdown()
    server.server_close()
    result = run_module(
        "apt_signing_key",
        {
            "url": f"{url}/mirror.pub.asc",
            "fingerprint": MIRROR,
            "dest": str(tmp_path / "k.gpg"),
            "retries": 2,
            "delay": 0,
        },
    )
    assert result["failed"] is True
    assert f"{url}/mirror.pub.asc" in result["msg"]
    assert "after 3 tries" in result["msg"]


def test_check_mode_writes_nothing(tmp_path, key_server):
    url, _ = key_server
    dest = tmp_path / "test.gpg"
    result = run_module(
        "apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR, "dest": str(dest)}, check=True
    )
    assert result["changed"] is True
    assert not dest.exists()


def test_a_page_that_is_no_key_is_refused(tmp_path, key_server):
    url, _ = key_server
    result = run_module("apt_signing_key", {"url": f"{url}/", "fingerprint": MIRROR, "dest": str(tmp_path / "k.gpg")})
    assert result["failed"] is True
    assert "not an OpenPGP public key" in result["msg"]

"""gpuhost.provision.apt_signing_key against a key server on 127.0.0.1 (the throwaway test keys)."""

import pathlib

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.openpgp import dearmor, primary_fingerprints
from ansible_run import ROOT, run_module

KEYS = pathlib.Path(ROOT, "tests", "fixtures", "apt_mirror", "keys")

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
    url, _key = key_server
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
    url, _key = key_server
    dest = tmp_path / "test.gpg"
    result = run_module(
        "apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR, "dest": str(dest)}, check=True
    )
    assert result["changed"] is True
    assert not dest.exists()


def test_a_page_that_is_no_key_is_refused(tmp_path, key_server):
    url, _key = key_server
    result = run_module("apt_signing_key", {"url": f"{url}/", "fingerprint": MIRROR, "dest": str(tmp_path / "k.gpg")})
    assert result["failed"] is True
    assert "not an OpenPGP public key" in result["msg"]


def _keys(*names):
    return b"".join(dearmor((KEYS / name).read_bytes()) for name in names)


def test_a_key_file_with_the_pinned_key_and_another_writes_only_the_pinned_key(tmp_path, key_server):
    # apt trusts every key of a signed-by keyring: the extra key must not get in beside the pinned one.
    url, server = key_server
    pathlib.Path(server.directory, "both.gpg").write_bytes(_keys("wrong.pub.asc", "mirror.pub.asc"))
    dest = tmp_path / "test.gpg"
    result = run_module("apt_signing_key", {"url": f"{url}/both.gpg", "fingerprint": MIRROR, "dest": str(dest)})
    assert result["failed"] is False, result["msg"]
    assert result["fingerprints"] == [MIRROR.replace(" ", "")]
    assert primary_fingerprints(dest.read_bytes()) == [MIRROR.replace(" ", "")]
    assert dest.read_bytes() == _keys("mirror.pub.asc")


def test_an_existing_keyring_with_an_extra_key_is_rewritten_to_the_pinned_key(tmp_path, key_server):
    url, server = key_server
    dest = tmp_path / "test.gpg"
    dest.write_bytes(_keys("mirror.pub.asc", "wrong.pub.asc"))
    server.shutdown()  # the pinned key is in the keyring already: no download needed to drop the other one
    result = run_module("apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR, "dest": str(dest)})
    assert result["changed"] is True
    assert primary_fingerprints(dest.read_bytes()) == [MIRROR.replace(" ", "")]
    again = run_module("apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR, "dest": str(dest)})
    assert again["changed"] is False


def test_file_url_installs_the_key(tmp_path):
    # Air-gapped sites copy the key onto the host and point the role at it.
    dest = tmp_path / "test.gpg"
    url = (KEYS / "mirror.pub.asc").as_uri()
    result = run_module("apt_signing_key", {"url": url, "fingerprint": MIRROR, "dest": str(dest)})
    assert result["failed"] is False, result["msg"]
    assert result["changed"] is True
    assert primary_fingerprints(dest.read_bytes()) == [MIRROR.replace(" ", "")]


@pytest.mark.parametrize("where", ["missing-file", "http-404"])
def test_a_failed_download_names_the_reason_never_ok(tmp_path, key_server, where):
    url, _key = key_server
    key_url = (tmp_path / "absent.asc").as_uri() if where == "missing-file" else f"{url}/absent.asc"
    result = run_module(
        "apt_signing_key",
        {"url": key_url, "fingerprint": MIRROR, "dest": str(tmp_path / "k.gpg"), "retries": 0, "delay": 0},
    )
    assert result["failed"] is True
    assert key_url in result["msg"]
    assert "OK" not in result["msg"]
    assert ("No such file" if where == "missing-file" else "404") in result["msg"]
    assert not (tmp_path / "k.gpg").exists()

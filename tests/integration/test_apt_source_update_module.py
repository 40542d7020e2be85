"""gpuhost.provision.apt_source_update with content: the file is written only where it differs, and apt runs
only then (or when asked to). The write-and-refresh path runs for real in every Molecule scenario whose
toolkit or Docker CE source is new (molecule/toolkit installs NVIDIA's packages through it)."""

import os

import pytest
from ansible_run import run_module

SOURCE = "Types: deb\nURIs: http://127.0.0.1:9/gpuhost-test\nSuites: /\nSigned-By: /nonexistent.gpg\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the module wants its source owned by root")


def test_a_source_already_as_given_runs_no_apt(tmp_path):
    path = tmp_path / "test.sources"
    path.write_text(SOURCE)
    path.chmod(0o644)
    # Port 9 has no repository: had apt run, the task would have failed.
    result = run_module("apt_source_update", {"source": str(path), "content": SOURCE})
    assert result["changed"] is False and result["written"] is False and result["tries"] == 0


def test_a_different_or_loose_source_would_be_written_and_refreshed(tmp_path):
    path = tmp_path / "test.sources"
    path.write_text(SOURCE.replace("gpuhost-test", "old"))
    path.chmod(0o644)
    result = run_module("apt_source_update", {"source": str(path), "content": SOURCE}, check=True)
    assert result["changed"] is True and result["written"] is True
    assert path.read_text() == SOURCE.replace("gpuhost-test", "old")  # check mode: untouched
    path.write_text(SOURCE)
    path.chmod(0o666)
    loose = run_module("apt_source_update", {"source": str(path), "content": SOURCE}, check=True)
    assert loose["written"] is True


def test_refresh_asks_for_apt_even_when_the_source_is_as_given(tmp_path):
    path = tmp_path / "test.sources"
    path.write_text(SOURCE)
    path.chmod(0o644)
    result = run_module("apt_source_update", {"source": str(path), "content": SOURCE, "refresh": True}, check=True)
    assert result["changed"] is True and result["written"] is False


# The key options: the role's signing key and source in one module run (keys from tests/fixtures/apt_mirror/keys).
MIRROR_KEY = "176F EBB7 358A 19EC AB18 DF86 4365 F319 D00F E84D"


def _with_key(path, keyring, url, **extra):
    return {
        "source": str(path),
        "content": SOURCE,
        "key_url": f"{url}/mirror.pub.asc",
        "key_fingerprint": MIRROR_KEY,
        "keyring": str(keyring),
        "retries": 0,
        **extra,
    }


def test_a_key_and_source_in_place_need_neither_network_nor_apt(tmp_path, key_server):
    url, server = key_server
    path, keyring = tmp_path / "test.sources", tmp_path / "keyrings" / "test.gpg"
    path.write_text(SOURCE)
    path.chmod(0o644)
    first = run_module("apt_source_update", _with_key(path, keyring, url), check=True)
    assert first["changed"] is True and first["key_changed"] is True and first["written"] is False
    assert not keyring.exists()  # check mode
    run_module("apt_signing_key", {"url": f"{url}/mirror.pub.asc", "fingerprint": MIRROR_KEY, "dest": str(keyring)})
    server.shutdown()
    # No key server and no repository (port 9): had either been asked, the task would have failed.
    again = run_module("apt_source_update", _with_key(path, keyring, url))
    assert again["changed"] is False and again["key_changed"] is False and again["tries"] == 0, again
    assert again["fingerprints"] == [MIRROR_KEY.replace(" ", "")]


def test_a_new_key_refreshes_an_unchanged_source(tmp_path, key_server):
    url, _server = key_server
    path, keyring = tmp_path / "test.sources", tmp_path / "test.gpg"
    path.write_text(SOURCE)
    path.chmod(0o644)
    result = run_module("apt_source_update", _with_key(path, keyring, url))
    # The key was written, then apt asked for the index of a source that has none (port 9): the refresh ran.
    assert keyring.exists()
    assert result["failed"] is True and result["tries"] == 1, result
    assert "127.0.0.1:9/gpuhost-test" in result["msg"]


def test_a_key_with_another_fingerprint_writes_neither_key_nor_source(tmp_path, key_server):
    url, _server = key_server
    path, keyring = tmp_path / "test.sources", tmp_path / "test.gpg"
    args = _with_key(path, keyring, url)
    args["key_url"] = f"{url}/wrong.pub.asc"
    result = run_module("apt_source_update", args)
    assert result["failed"] is True and "expected " + MIRROR_KEY.replace(" ", "") in result["msg"]
    assert not keyring.exists() and not path.exists()


def test_the_key_options_go_together(tmp_path):
    result = run_module("apt_source_update", {"source": str(tmp_path / "t.sources"), "key_url": "http://127.0.0.1:9/k"})
    assert result["failed"] is True and "key_fingerprint" in result["msg"] and "keyring" in result["msg"]

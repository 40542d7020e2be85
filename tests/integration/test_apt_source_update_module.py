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

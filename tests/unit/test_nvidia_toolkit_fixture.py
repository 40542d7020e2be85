"""tests/fixtures/nvidia_toolkit/build.py refuses source it cannot verify, and says why (no build needed here)."""

import importlib.util
import os

import pytest
from ansible_run import ROOT


@pytest.fixture
def builder(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "nvidia_toolkit_build", os.path.join(ROOT, "tests", "fixtures", "nvidia_toolkit", "build.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv(module.TARBALL_ENV, raising=False)
    return module


def test_a_tarball_with_other_bytes_is_refused(builder, tmp_path):
    fake = tmp_path / builder.TARBALL_NAME
    fake.write_bytes(b"not NVIDIA's source")
    with pytest.raises(builder.BuildError, match=f"expected {builder.SOURCE_SHA256}"):
        builder.find_tarball(str(fake))


def test_a_missing_tarball_is_named(builder, tmp_path, monkeypatch):
    monkeypatch.setenv(builder.TARBALL_ENV, str(tmp_path / "nowhere.tar.gz"))
    with pytest.raises(builder.BuildError, match="nowhere.tar.gz does not exist"):
        builder.find_tarball(None)


def test_no_source_anywhere_says_what_to_do(builder, tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "ROOT", str(tmp_path / "repo"))
    monkeypatch.setattr(builder, "CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(builder, "SOURCE_URL", "http://127.0.0.1:9/unreachable.tar.gz")
    with pytest.raises(builder.BuildError, match="pass --tarball PATH or set GPUHOST_NVIDIA_TOOLKIT_TARBALL"):
        builder.find_tarball(None)


def test_debian_control_fields_come_from_nvidias_packaging(builder):
    assert builder.substitute("${misc:Depends}, nvidia-container-toolkit-base (= @VERSION@)") == (
        "nvidia-container-toolkit-base (= 1.20.0-1)"
    )
    assert builder.substitute("@SECTION@utils") == "utils"

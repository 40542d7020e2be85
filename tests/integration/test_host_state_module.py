"""gpuhost.provision.host_state on real files and a real dpkg database (this machine's, or a copy of it)."""

import os
import shutil
import subprocess

import pytest
from ansible_run import run_module


def _file(tmp_path, content="blacklist nouveau\n", mode=0o644, name="blacklist.conf"):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
        path.chmod(mode)
    user = subprocess.check_output(["id", "-un"], text=True).strip()
    group = subprocess.check_output(["id", "-gn"], text=True).strip()
    return {"path": str(path), "content": "blacklist nouveau\n", "mode": "0644", "owner": user, "group": group}


@pytest.fixture
def own_dpkg_database(tmp_path):
    """A copy of this machine's dpkg database mounted over the real one for the module's run only (a mount
    namespace), so holds can be really set without touching the machine running the tests."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a private mount of /var/lib/dpkg")
    copy = tmp_path / "dpkg"
    shutil.copytree("/var/lib/dpkg", copy, symlinks=True)
    script = f'mount --bind {copy} /var/lib/dpkg && exec "$@"'
    return copy, ("unshare", "-m", "sh", "-c", script, "sh")


def test_check_mode_reports_a_file_and_an_installed_package_that_match(tmp_path):
    result = run_module("host_state", {"files": [_file(tmp_path)], "packages_installed": ["dpkg"]}, check=True)
    assert result["changed"] is False and result["failed"] is False
    assert result["matches"] is True and result["differences"] == [] and result["changed_files"] == []


def test_check_mode_names_every_difference_and_changes_nothing(tmp_path):
    spec = _file(tmp_path, content="blacklist nouveau\n# edited\n", mode=0o600)
    missing = _file(tmp_path, content=None, name="absent.conf")
    result = run_module(
        "host_state",
        {
            "files": [spec, missing],
            "packages_installed": ["dpkg", "gpuhost-no-such-package"],
            # dpkg is installed here but nobody holds it.
            "packages_held": ["dpkg"],
        },
        check=True,
        diff=True,
    )
    assert result["matches"] is False and result["changed"] is True and result["failed"] is False
    assert result["differences"] == [
        f"{spec['path']}: content differs",
        f"{spec['path']}: mode 0600, not 0644",
        f"{missing['path']}: missing",
        "gpuhost-no-such-package: not installed",
        "dpkg: not held",
    ]
    assert result["changed_files"] == [spec["path"], missing["path"]]
    assert "+blacklist nouveau" in result["_stdout"] and "-# edited" in result["_stdout"]
    # Check mode is the read-only probe: nothing was written.
    assert (tmp_path / "blacklist.conf").read_text() == "blacklist nouveau\n# edited\n"
    assert not (tmp_path / "absent.conf").exists()
    assert "hold" not in subprocess.check_output(["dpkg", "--get-selections", "dpkg"], text=True)


def test_files_are_written_with_their_mode_and_parent_directories_and_a_rerun_is_ok(tmp_path):
    spec = _file(tmp_path, content="old\n", mode=0o600)
    nested = {**_file(tmp_path, content=None), "path": str(tmp_path / "facts.d" / "x.fact"), "mode": "0640"}
    result = run_module("host_state", {"files": [spec, nested]}, diff=True)
    assert result["failed"] is False and result["changed"] is True
    assert result["changed_files"] == [spec["path"], nested["path"]]
    assert (tmp_path / "blacklist.conf").read_text() == "blacklist nouveau\n"
    assert oct((tmp_path / "blacklist.conf").stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / "facts.d" / "x.fact").stat().st_mode & 0o777) == "0o640"
    again = run_module("host_state", {"files": [spec, nested]})
    assert again["changed"] is False and again["matches"] is True


def test_a_mode_alone_is_changed_in_place(tmp_path):
    spec = _file(tmp_path, mode=0o600)
    inode = (tmp_path / "blacklist.conf").stat().st_ino
    result = run_module("host_state", {"files": [spec]})
    assert result["changed"] is True and result["differences"] == [f"{spec['path']}: mode 0600, not 0644"]
    assert (tmp_path / "blacklist.conf").stat().st_ino == inode
    assert oct((tmp_path / "blacklist.conf").stat().st_mode & 0o777) == "0o644"


def test_a_symlink_is_not_taken_for_the_file_and_is_replaced(tmp_path):
    spec = _file(tmp_path)
    link = tmp_path / "link.conf"
    os.symlink(spec["path"], link)
    probe = run_module("host_state", {"files": [{**spec, "path": str(link)}]}, check=True)
    assert probe["differences"] == [f"{link}: not a regular file"]
    run_module("host_state", {"files": [{**spec, "path": str(link)}]})
    assert not link.is_symlink() and link.read_text() == "blacklist nouveau\n"


def test_a_directory_in_the_way_fails_and_is_left(tmp_path):
    (tmp_path / "blacklist.conf").mkdir()
    result = run_module("host_state", {"files": [_file(tmp_path, content=None)]})
    assert result["failed"] is True and "is a directory" in result["msg"]
    assert (tmp_path / "blacklist.conf").is_dir()


def test_packages_are_held_in_the_dpkg_database(own_dpkg_database):
    copy, prefix = own_dpkg_database
    result = run_module("host_state", {"packages_held": ["dpkg"]}, prefix=prefix)
    assert result["failed"] is False and result["changed"] is True
    assert result["differences"] == ["dpkg: not held"]
    status = (copy / "status").read_text()
    assert "Package: dpkg\nEssential: yes\nStatus: hold ok installed" in status
    # The machine's own database was not touched.
    assert "hold" not in subprocess.check_output(["dpkg", "--get-selections", "dpkg"], text=True)
    again = run_module("host_state", {"packages_held": ["dpkg"]}, prefix=prefix)
    assert again["changed"] is False and again["matches"] is True


def test_a_missing_package_fails_outside_check_mode_and_nothing_is_held(own_dpkg_database):
    copy, prefix = own_dpkg_database
    result = run_module("host_state", {"packages_held": ["dpkg", "gpuhost-no-such-package"]}, prefix=prefix)
    assert result["failed"] is True and "gpuhost-no-such-package" in result["msg"]
    assert "Status: hold" not in (copy / "status").read_text().split("Package: dpkg\n", 1)[1].split("\n\n")[0]


def test_version_of_returns_the_installed_version_dpkg_reports(tmp_path):
    expected = subprocess.check_output(["dpkg-query", "-W", "-f", "${Version}", "dpkg"], text=True)
    result = run_module("host_state", {"version_of": "dpk?"}, check=True)
    assert result["version"] == expected
    assert run_module("host_state", {"version_of": "gpuhost-no-such-*"}, check=True)["version"] == ""

"""gpuhost.provision.host_state_matches on real files and this machine's real dpkg database."""

import os
import subprocess

from ansible_run import run_module


def _file(tmp_path, content="blacklist nouveau\n", mode=0o644):
    path = tmp_path / "blacklist.conf"
    path.write_text(content)
    path.chmod(mode)
    user = subprocess.check_output(["id", "-un"], text=True).strip()
    group = subprocess.check_output(["id", "-gn"], text=True).strip()
    return {"path": str(path), "content": "blacklist nouveau\n", "mode": "0644", "owner": user, "group": group}


def test_a_file_as_expected_and_an_installed_package_match(tmp_path):
    result = run_module("host_state_matches", {"files": [_file(tmp_path)], "packages_installed": ["dpkg"]})
    assert result["changed"] is False
    assert result["matches"] is True and result["differences"] == []


def test_every_difference_is_named(tmp_path):
    spec = _file(tmp_path, content="blacklist nouveau\n# edited\n", mode=0o600)
    missing = {**spec, "path": str(tmp_path / "absent.conf")}
    result = run_module(
        "host_state_matches",
        {
            "files": [spec, missing],
            "packages_installed": ["dpkg", "gpuhost-no-such-package"],
            # dpkg is installed here but nobody holds it.
            "packages_held": ["dpkg"],
        },
    )
    assert result["matches"] is False
    assert result["differences"] == [
        f"{spec['path']}: content differs",
        f"{spec['path']}: mode 0600, not 0644",
        f"{missing['path']}: missing",
        "gpuhost-no-such-package: not installed",
        "dpkg: not held",
    ]


def test_a_symlink_is_not_taken_for_the_file(tmp_path):
    spec = _file(tmp_path)
    link = tmp_path / "link.conf"
    os.symlink(spec["path"], link)
    result = run_module("host_state_matches", {"files": [{**spec, "path": str(link)}]})
    assert result["differences"] == [f"{link}: not a regular file"]

"""`make run` and `make test` set up this machine themselves (tools/host_prereqs.sh), as CI does.

The script runs for real here with a PATH that lacks some tools: as a user who is not root it must say
which packages are missing and that installing them needs root; as root (dry run) it would install them.
"""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "tools", "host_prereqs.sh")
# What the script itself runs; everything else (docker, gpg, dpkg-deb) is missing from this PATH.
BASICS = ["bash", "id", "cat", "seq", "sleep", "tail", "kill", "rm", "env"]


@pytest.fixture
def bare_bin():
    """A world-readable bin directory holding only the basics and this Python (as python3)."""
    path = tempfile.mkdtemp(prefix="gpuhost-prereqs-")
    os.chmod(path, 0o755)  # noqa: S103 the unprivileged user the test runs the script as must read it
    for name in BASICS:
        found = shutil.which(name)
        if found:
            os.symlink(found, os.path.join(path, name))
    # The system Python: a user's pyenv under /root is out of reach of the unprivileged user.
    os.symlink(
        "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3"),
        os.path.join(path, "python3"),
    )
    yield path
    shutil.rmtree(path)


def run(bin_dir, as_nobody=False, **env):
    prefix = []
    if as_nobody and os.geteuid() == 0:
        prefix = [shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    elif as_nobody is False and os.geteuid() != 0:
        pytest.skip("the root path of the script needs root")
    return subprocess.run(
        [*prefix, "/bin/bash", SCRIPT],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": bin_dir, "HOME": bin_dir, **env},
    )


def test_missing_tools_without_root_name_the_packages_and_root(bare_bin):
    result = run(bare_bin, as_nobody=True)
    assert result.returncode == 1
    assert "missing packages:" in result.stderr
    for package in ("docker.io", "gnupg", "dpkg"):
        assert package in result.stderr
    assert "needs root" in result.stderr
    assert "sudo make prereqs" in result.stderr


def test_missing_tools_as_root_are_installed(bare_bin):
    result = run(bare_bin, GPUHOST_PREREQS_DRY_RUN="1")
    assert result.returncode == 0, result.stderr
    assert "would run: apt-get install -y -qq docker.io" in result.stdout
    assert "gnupg" in result.stdout


def test_a_docker_cli_without_an_engine_still_gets_docker_io(bare_bin):
    # Seen on this project's machines: /usr/local/bin/docker (a client) and no dockerd anywhere.
    fake = os.path.join(bare_bin, "docker")
    with open(fake, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/bash\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    os.chmod(fake, 0o755)  # noqa: S103 the unprivileged user runs it
    result = run(bare_bin, as_nobody=True)
    assert result.returncode == 1
    assert "docker.io" in result.stderr.split("missing packages:")[1].splitlines()[0]


def test_python_older_than_311_is_told_what_to_do(bare_bin):
    fake = os.path.join(bare_bin, "python3.10")
    with open(fake, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/bash\ncase "$2" in *version_info*) exit 1;; *platform*) echo 3.10.12;; esac\n')
    # noqa: S103 below: the unprivileged user runs it
    os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)  # noqa: S103
    result = run(bare_bin, as_nobody=True, PYTHON="python3.10", NEED_DOCKER="0")
    assert result.returncode == 1
    assert "Python 3.10.12; ansible-core 2.19 needs 3.11 or newer" in result.stderr
    assert "PYTHON=python3.11" in result.stderr


def test_make_run_and_test_start_with_the_prereqs():
    for target in ("run", "test"):
        # Under `make test` the parent make's MAKEFLAGS/MAKELEVEL would add "Entering directory" lines.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        out = subprocess.run(
            ["make", "--no-print-directory", "-n", target],
            capture_output=True, text=True, check=False, cwd=ROOT, env=env,
        ).stdout.splitlines()
        assert out and "tools/host_prereqs.sh" in out[0], (target, out[:3])


def test_ci_takes_the_newcomers_path():
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as handle:
        ci = handle.read()
    assert ci.rstrip().endswith("make test")
    assert "dockerd" not in ci.split("# The README")[0].replace("dockerd) is set up by", "")

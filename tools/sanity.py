"""Run `ansible-test sanity` the way ansible-test wants it, on this machine, without Docker.

ansible-test needs the collection at a path ending in ansible_collections/gpuhost/provision; the repo is
the collection, so the files git knows (tracked, and new ones not ignored) are copied to
.cache/sanity/ansible_collections/gpuhost/provision and ansible-test runs there with --venv and the
controller's Python pinned (--python, default 3.11): every sanity test gets its own virtualenv with
ansible-test's pinned requirements from PyPI.

ansible-test bootstraps pip in each of those virtualenvs with a get-pip script from
ci-files.testing.ansible.com, which is not reachable here. HOME is pointed at .cache/sanity-home (so
ansible-test's cache and virtualenvs stay inside the checkout), and where that cache has no script yet a
STAND-IN is written to it: Python's own ensurepip, then `pip install` of the pip version ansible-test asks
for, from PyPI. Where the real script can be downloaded, put it in that cache and it is used instead.

  .venv/bin/python tools/sanity.py                 # all sanity tests (make sanity)
  .venv/bin/python tools/sanity.py --test pylint   # extra arguments go to ansible-test sanity
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, ".cache", "sanity")
COLLECTION = os.path.join(WORK, "ansible_collections", "gpuhost", "provision")
HOME = os.path.join(ROOT, ".cache", "sanity-home")
PYTHON = os.environ.get("SANITY_PYTHON", "3.11")

STAND_IN = '''"""STAND-IN for ansible-test's get-pip bootstrap (written by gpuhost's tools/sanity.py).

ci-files.testing.ansible.com is not reachable: pip comes from this Python's ensurepip, then pip installs
the version ansible-test asks for from the configured index. get-pip's own options are dropped.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q", *args]))
'''


def pip_version() -> str:
    """The pip version this ansible-test bootstraps into its virtualenvs (its get_pip_<version>.py name)."""
    from ansible_test._internal.python_requirements import get_venv_packages  # noqa: PLC0415

    return get_venv_packages(types.SimpleNamespace(version=PYTHON))["pip"]


def copy_tree() -> None:
    """The files git knows, copied fresh (deleted files must not linger in the copy)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    shutil.rmtree(COLLECTION, ignore_errors=True)
    for raw in listed:
        if not raw:
            continue
        rel = raw.decode()
        # The captured sysfs/procfs fixture trees name folders after PCI addresses (0000:00:06.0), which
        # no-illegal-filenames refuses (Windows); galaxy.yml's build_ignore keeps them out of the collection too.
        if ":" in rel:
            continue
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        dest = os.path.join(COLLECTION, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(src, dest)
    # ansible-test lists a collection's files with git where it finds a repository above it: this copy sits
    # in the checkout's ignored .cache, so it gets a repository of its own holding exactly these files.
    subprocess.run(["git", "init", "-q"], cwd=COLLECTION, check=True)
    subprocess.run(["git", "add", "-A"], cwd=COLLECTION, check=True)


def main(argv: list[str]) -> int:
    copy_tree()
    cache = os.path.join(HOME, ".ansible", "test", "cache")
    os.makedirs(cache, exist_ok=True)
    env = dict(os.environ, HOME=HOME)
    ansible_test = os.path.join(os.path.dirname(sys.executable), "ansible-test")
    path = os.path.join(cache, f"get_pip_{pip_version().replace('.', '_')}.py")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(STAND_IN)
    cmd = [ansible_test, "sanity", "--venv", "--python", PYTHON, "--color", "no", *argv]
    print("+", " ".join(cmd), f"(in {COLLECTION})", flush=True)
    return subprocess.run(cmd, cwd=COLLECTION, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

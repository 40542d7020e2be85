"""Run this collection through the real Ansible CLI, as a user would, and read back the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(name: str) -> str:
    """The CLI beside this Python (a venv's), else the one on PATH (a GPU host with ansible-core installed)."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else name


def _env(**extra: str) -> dict:
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
    )
    env.update(extra)
    return env


def run_module(module: str, args: dict, check: bool = False, diff: bool = False, prefix: tuple = ()) -> dict:
    """`ansible localhost -m gpuhost.provision.MODULE` with the json callback; returns the module's result.

    prefix: a command that runs ansible, e.g. ("unshare", "-m", "sh", "-c", 'mount ... && exec "$@"', "sh").
    """
    cmd = [
        *prefix,
        cli("ansible"),
        "localhost",
        "-c",
        "local",
        "-i",
        "localhost,",
        "-m",
        f"gpuhost.provision.{module}",
        "-a",
        json.dumps(args),
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    # The default callback prints `localhost | SUCCESS => {json}`; ansible-core alone has no json callback.
    env = _env(
        ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "integration", "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    try:
        result = json.loads(proc.stdout[proc.stdout.index("=> {") + 3 :])
    except ValueError as exc:
        raise AssertionError(f"ansible printed no result:\n{proc.stdout}\n{proc.stderr}") from exc
    # The callback states failure in the header and prints --diff output apart from the result.
    result["failed"] = "| FAILED!" in proc.stdout.split("=> {", 1)[0]
    result["_stdout"] = proc.stdout
    return result


def run_playbook(playbook: str, inventory: str, *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook with the repo's ansible.cfg; the caller asserts on rc and output."""
    cmd = [cli("ansible-playbook"), "-i", os.path.join(ROOT, inventory), os.path.join(ROOT, playbook), *args]
    # ansible-core 2.19 prints task errors on stderr: one stream for the tests to search.
    return subprocess.run(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        cwd=ROOT,
        env=_env(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")),
    )


# An inventory of this machine as the one GPU host, for playbooks that target gpu_hosts (the doctor's tests).
LOCAL_GPU_HOSTS = """gpu_hosts:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
      ansible_become: false
"""


def run_in_project(playbook: str, inventory: str, project: str, *args: str, timeout: int | None = None):
    """ansible-playbook as a user runs it from their own project: working directory (and PWD) there, the
    repo's ansible.cfg, the collection from this checkout. Output on one stream; the caller asserts on it."""
    return subprocess.run(
        [cli("ansible-playbook"), "-i", str(inventory), os.path.join(ROOT, playbook), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        cwd=project,
        env=_env(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PWD=str(project)),
        timeout=timeout,
    )

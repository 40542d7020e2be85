"""Run the collection's modules for real through Ansible on this machine (connection local)."""
from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_module(module: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    """`ansible localhost -m MODULE` with the json callback; returns the module's result."""
    cmd = ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", f"gpuhost.provision.{module}",
           "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    # Not the repo's ansible.cfg: its profile_tasks callback would print into the JSON.
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "integration", "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    try:
        output = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"ansible printed no JSON:\n{proc.stdout}\n{proc.stderr}") from exc
    return output["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture
def key_server():
    """A static file server on 127.0.0.1 for the throwaway test keys; yields its base URL."""
    directory = os.path.join(ROOT, "tests", "fixtures", "apt_mirror", "keys")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()

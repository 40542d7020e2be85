"""Fixtures for running the collection's modules for real on this machine (see tests/ansible_run.py)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading

import pytest
from ansible_run import ROOT


@pytest.fixture
def key_server(tmp_path):
    """A static file server on 127.0.0.1 for the throwaway test keys; yields its base URL and the server.

    It serves a copy of the keys (server.directory): a test may add files there.
    """
    directory = str(tmp_path / "key_server")
    shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "apt_mirror", "keys"), directory)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.directory = directory
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()

"""What converge did on the fresh host, read before any other test runs a play (pytest takes files by name).

Docker starts once: daemon.json is merged before the package is installed, so the engine the package starts
already reads it, and the restart handler restarts only an engine that predates the change.
"""

from conftest import docker_starts


def test_docker_was_started_once_not_started_then_restarted(host):
    assert docker_starts(host) == 1

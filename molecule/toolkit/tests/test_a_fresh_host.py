"""What converge did on the fresh host, read before any other test runs a play (pytest takes files by name).

converge.yml runs the toolkit before Docker exists: the toolkit writes its runtime into daemon.json and restarts
nothing; the docker role merges its keys before installing the package, whose engine then starts once with both,
and its restart handler restarts only an engine that predates the change.
"""

from conftest import docker_starts


def test_docker_was_started_once_not_started_then_restarted(host):
    assert docker_starts(host) == 1

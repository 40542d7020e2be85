"""verify_cluster.yml's port pre-check on loopback: free, answered, refused, someone else, unresolvable."""

import os
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "gpu_verify", "files"))
import gpuhost_port_check as check  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_port_in_use_is_not_free(capsys):
    with socket.socket() as sock:
        sock.bind(("", 0))
        sock.listen()
        assert check.main(["free", str(sock.getsockname()[1])]) == 3
    assert "cannot be bound" in capsys.readouterr().out
    assert check.main(["free", str(free_port())]) == 0


def test_a_port_an_earlier_run_left_in_time_wait_is_free():
    # The rendezvous host closes its side first, as torchrun's store does at the end of a run: that
    # connection stays in TIME_WAIT on the port for a minute. A rerun within it must not read "in use".
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _peer = server.accept()
        conn.close()
        time.sleep(0.1)
        client.close()
    assert check.main(["free", str(port)]) == 0


def test_the_listener_answers_every_host_then_ends():
    port = free_port()
    results = []
    listener = threading.Thread(target=lambda: results.append(check.listen(port, 2, 10)))
    listener.start()
    # The first connect may come before the listener binds: refusals are retried until the deadline.
    assert check.main(["connect", "127.0.0.1", str(port), "5"]) == 0
    assert check.main(["connect", "localhost", str(port), "5"]) == 0
    listener.join(5)
    assert results == [0]


def test_a_listener_that_is_not_reached_by_every_host_says_how_many_came(capsys):
    assert check.listen(free_port(), 1, 0.3) == 4
    assert "0 of 1 hosts connected within 0.3 s" in capsys.readouterr().out


def test_a_closed_port_is_refused_within_the_deadline(capsys):
    start = time.monotonic()
    assert check.main(["connect", "127.0.0.1", str(free_port()), "0.5"]) == 2
    assert time.monotonic() - start < 3
    assert "refused the connection" in capsys.readouterr().out


def test_another_service_on_the_port_is_not_taken_for_the_rendezvous(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()

        def answer():
            conn, _addr = sock.accept()
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        threading.Thread(target=answer, daemon=True).start()
        assert check.main(["connect", "127.0.0.1", str(sock.getsockname()[1]), "3"]) == 6
    assert "not the check's listener" in capsys.readouterr().out


def test_a_name_that_does_not_resolve(capsys):
    assert check.main(["connect", "gpuhost-nosuch.invalid", "29500", "2"]) == 5
    assert "does not resolve" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["connect", "host"], ["listen", "1"]])
def test_bad_arguments_print_the_usage(argv):
    assert check.main(argv) == 64

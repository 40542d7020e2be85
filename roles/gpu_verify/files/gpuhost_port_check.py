#!/usr/bin/env python3
"""verify_cluster.yml's pre-checks: can every host reach the rendezvous port before torchrun waits on it?

  gpuhost_port_check.py free PORT                 exit 0 if PORT can be bound here, 3 if it is in use
  gpuhost_port_check.py listen PORT COUNT SECONDS answer COUNT connections with a greeting, then exit 0;
                                                  exit 4 if SECONDS pass first (some host never came)
  gpuhost_port_check.py connect HOST PORT SECONDS exit 0 if HOST:PORT answers with the greeting;
                                                  2 refused, 3 no answer in SECONDS (dropped), 5 HOST does
                                                  not resolve, 6 someone else answered

Every step ends within its SECONDS: a firewall that drops packets makes a check fail, never hang.
"""

from __future__ import annotations

import socket
import sys
import time

GREETING = b"gpuhost-rendezvous-check\n"


def bound(port: int) -> socket.socket | None:
    """A socket bound to PORT as torchrun's TCPStore binds it, or None (the reason printed)."""
    sock = socket.socket()
    # SO_REUSEADDR as the store sets it: connections of an earlier run in TIME_WAIT (60 s on Linux) do not
    # make the port busy, a listening socket still does.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("", port))
    except OSError as exc:
        sock.close()
        print(f"port {port} cannot be bound: {exc.strerror}")
        return None
    return sock


def free(port: int) -> int:
    sock = bound(port)
    if sock is None:
        return 3
    sock.close()
    return 0


def listen(port: int, count: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    sock = bound(port)
    if sock is None:
        return 3
    with sock:
        sock.listen(count)
        answered = 0
        while answered < count:
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"{answered} of {count} hosts connected within {seconds:g} s")
                return 4
            sock.settimeout(left)
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(GREETING)
            answered += 1
            print(f"answered {peer[0]}")
    return 0


def connect(host: str, port: int, seconds: float) -> int:
    try:
        address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4]
    except socket.gaierror as exc:
        print(f"{host} does not resolve: {exc.strerror}")
        return 5
    deadline = time.monotonic() + seconds
    # A listener not up yet refuses too: retry refusals until the deadline, then report the refusal.
    while True:
        try:
            with socket.create_connection(address[:2], timeout=max(0.1, deadline - time.monotonic())) as conn:
                conn.settimeout(max(0.1, deadline - time.monotonic()))
                data = conn.recv(len(GREETING))
        except ConnectionRefusedError:
            if time.monotonic() >= deadline:
                print(f"{host}:{port} ({address[0]}) refused the connection")
                return 2
            time.sleep(0.2)
            continue
        except TimeoutError:
            print(f"{host}:{port} ({address[0]}) did not answer within {seconds:g} s")
            return 3
        except OSError as exc:
            print(f"{host}:{port} ({address[0]}): {exc.strerror}")
            return 3
        if data != GREETING:
            print(f"{host}:{port} ({address[0]}) answered, but not the check's listener: {data[:40]!r}")
            return 6
        print(f"{host}:{port} ({address[0]}) reached")
        return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["free"] and len(argv) == 2:
        return free(int(argv[1]))
    if argv[:1] == ["listen"] and len(argv) == 4:
        return listen(int(argv[1]), int(argv[2]), float(argv[3]))
    if argv[:1] == ["connect"] and len(argv) == 4:
        return connect(argv[1], int(argv[2]), float(argv[3]))
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The embedded server answers keep-alive requests without Nagle delays."""

from __future__ import annotations

import socket
import statistics
import time

import requests

from streamer.server import EmbeddedServer
from streamer.server.server import bind_socket


def test_listening_socket_turns_nagle_off() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_keep_alive_requests_do_not_wait_for_delayed_acks() -> None:
    # Given a server answering at once and one keep-alive connection
    with EmbeddedServer("null") as server, requests.Session() as session:
        session.get(f"{server.url}/health", timeout=(1, 5))

        # When twenty requests go over it one after another
        took = []
        for _ in range(20):
            started = time.perf_counter()
            session.get(f"{server.url}/health", timeout=(1, 5))
            took.append(time.perf_counter() - started)

    # Then the typical one is well below the 40 ms of a delayed ACK
    assert statistics.median(took) < 0.025

"""EmbeddedServer, serve() and the command line, as real processes."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest
import requests

from streamer.exceptions import ServerStartError
from streamer.server import (
    EmbeddedServer,
    ServerState,
    build_arg_parser,
    main_from_args,
    serve,
)

from .helpers import jpeg

TIMEOUT = (2.0, 20.0)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port that another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_embedded_server_starts_answers_and_stops() -> None:
    with EmbeddedServer("null", delay_ms=30) as server:
        assert server.state is ServerState.RUNNING
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        health = requests.get(f"{server.url}/health", timeout=TIMEOUT).json()
        start = time.perf_counter()
        reply = requests.post(
            f"{server.url}/images",
            files={"file": jpeg(np.zeros((16, 16, 3), np.uint8))},
            timeout=TIMEOUT,
        )
        elapsed = time.perf_counter() - start

    assert health["model"] == "null"
    assert reply.json()["type"] == "ObjectDetectionPrediction"
    assert elapsed >= 0.03
    assert server.state.value == "stopped"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/health", timeout=TIMEOUT)


def test_embedded_server_cannot_restart() -> None:
    server = EmbeddedServer("null")
    server.stop()

    with pytest.raises(ServerStartError, match="is stopped"):
        server.start()


def test_embedded_server_on_a_busy_port(busy_port: int) -> None:
    server = EmbeddedServer("null", port=busy_port)

    with pytest.raises(ServerStartError) as caught:
        server.start()

    message = str(caught.value)
    assert "exited during start-up" in message
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in message
    assert server.state is ServerState.STOPPED


def test_command_line_on_a_busy_port(busy_port: int) -> None:
    command = [sys.executable, "-m", "streamer.server", "--model", "null"]

    done = subprocess.run(
        [*command, "--port", str(busy_port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: Port {busy_port} on 127.0.0.1 is already in use; stop the program "
        "using it or choose another port with --port (0 picks a free one)."
    ]


def test_serve_raises_on_a_busy_port(busy_port: int) -> None:
    with pytest.raises(ServerStartError, match=f"Port {busy_port} .* in use"):
        serve("null", port=busy_port)


def test_serve_rejects_an_unknown_model() -> None:
    with pytest.raises(ServerStartError, match="Unknown model 'cats'"):
        serve("cats", port=0)


def test_arguments_for_streamer_serve(busy_port: int) -> None:
    parser = argparse.ArgumentParser()
    build_arg_parser(parser)

    args = parser.parse_args(["--model", "null", "--port", str(busy_port)])

    assert (args.model, args.host, args.delay_ms, args.min_score) == (
        "null",
        "127.0.0.1",
        0.0,
        None,
    )
    assert main_from_args(args) == 1


def test_unknown_model_name_is_an_argument_error() -> None:
    parser = argparse.ArgumentParser()
    build_arg_parser(parser)

    with pytest.raises(SystemExit):
        parser.parse_args(["--model", "cats"])


def test_embedded_server_does_not_mistake_another_server_for_its_own() -> None:
    with EmbeddedServer("null") as first:
        second = EmbeddedServer("null", port=first.port)

        with pytest.raises(ServerStartError, match="already in use"):
            second.start()

        assert requests.get(f"{first.url}/health", timeout=TIMEOUT).ok

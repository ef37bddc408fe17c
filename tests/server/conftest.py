"""Fixtures for the server tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from streamer.server.models import Model

from .helpers import ThreadedServer, read_frames


@pytest.fixture(scope="session")
def street_frames() -> list[np.ndarray]:
    """Two frames of vtest.avi, a second apart, with people walking."""
    return read_frames((100, 125))


@pytest.fixture
def serve_model() -> Iterator[Callable[[Model], ThreadedServer]]:
    """Start threaded servers on demand; all are stopped after the test."""
    started: list[ThreadedServer] = []

    def start(model: Model) -> ThreadedServer:
        server = ThreadedServer(model).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

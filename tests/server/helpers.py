"""Helpers for the server tests: real frames, recorded responses, a server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import uvicorn

from streamer.server import create_app
from streamer.server.models import Model
from streamer.server.server import bind_socket

REPO_ROOT = Path(__file__).resolve().parents[2]
VIDEO = REPO_ROOT / "samples" / "vtest.avi"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "landingai"


def read_fixture(name: str) -> dict[str, Any]:
    """Load a recorded LandingEdge response; a missing file fails the test."""
    path = FIXTURES / name
    assert path.is_file(), f"recorded fixture {path} is missing"
    body: dict[str, Any] = json.loads(path.read_text())
    return body


def read_frames(indices: tuple[int, ...]) -> list[np.ndarray]:
    """Read the given frame indices from samples/vtest.avi."""
    assert VIDEO.is_file(), f"{VIDEO} is missing"
    capture = cv2.VideoCapture(str(VIDEO))
    frames: list[np.ndarray] = []
    try:
        for index in range(max(indices) + 1):
            ok, frame = capture.read()
            assert ok, f"cannot read frame {index} of {VIDEO}"
            if index in indices:
                frames.append(frame)
    finally:
        capture.release()
    return frames


def jpeg(image: np.ndarray) -> bytes:
    """Encode an image as JPEG bytes."""
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


class ThreadedServer:
    """uvicorn serving one model on 127.0.0.1 in a background thread."""

    def __init__(self, model: Model) -> None:
        self._sock = bind_socket("127.0.0.1", 0)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(model), log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "threaded server did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

"""Shared helpers for the sink tests: a loopback predictor, tools, free ports."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streamer.config import Config, parse_config
from streamer.pipeline import Pipeline, Summary
from tests.helpers import ROOT, require_tool

VTEST = ROOT / "samples" / "vtest.avi"
EMPTY_REPLY = {"type": "ObjectDetectionPrediction", "predictions": {}}


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 50 ms until it holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def detection(label: str, score: float, box: tuple[int, int, int, int]) -> Any:
    """One prediction in the LandingEdge reply format."""
    xmin, ymin, xmax, ymax = box
    return {
        "score": score,
        "labelIndex": 1,
        "labelName": label,
        "defectId": 1,
        "coordinates": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
    }


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request is expected here; stay quiet."""


class StubPredictor:
    """A loopback ``POST /images`` server; ``reply(n)`` builds the n-th reply."""

    def __init__(self, reply: Callable[[int], dict[str, Any]] | None = None) -> None:
        self.reply = reply or (lambda n: EMPTY_REPLY)
        self.requests = 0
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with stub._lock:
                    count = stub.requests
                    stub.requests += 1
                body = json.dumps(stub.reply(count)).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                self.wfile.write(head + body)

        return Handler

    def start(self) -> StubPredictor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def stub() -> Iterator[StubPredictor]:
    server = StubPredictor().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 40 frames of vtest.avi, cut without re-encoding."""
    ffmpeg = require_tool("ffmpeg")
    assert VTEST.is_file(), f"{VTEST} is missing"
    out = tmp_path_factory.mktemp("clip") / "short.avi"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-i",
            str(VTEST),
            "-frames:v",
            "40",
            "-c",
            "copy",
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out


def pipeline_config(source: str, port: int, sinks: str, extra: str = "") -> Config:
    """A config for ``source`` against the stub on ``port`` with these sinks."""
    text = f"""
source: {{url: "{source}"{extra}}}
predictor: {{host: 127.0.0.1, port: {port}}}
pipeline: {{workers: 2, progress: false}}
sinks:
{sinks}
"""
    return parse_config(text)


class RunningPipeline:
    """A pipeline run in a thread, stopped and joined by ``stop``."""

    def __init__(self, config: Config) -> None:
        self.pipeline = Pipeline(config)
        self.summary: Summary | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.summary = self.pipeline.run()
        except BaseException as exc:
            self.error = exc

    def start(self) -> RunningPipeline:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> Summary:
        self.pipeline.request_stop()
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive(), "pipeline did not stop"
        assert self.error is None, f"pipeline failed: {self.error!r}"
        assert self.summary is not None
        return self.summary

"""Run the embedded inference server as a child process.

:class:`EmbeddedServer` starts ``python -m streamer.server`` on loopback,
waits until its health route answers and stops it again. The pipeline uses it
when a config asks for the embedded default; tests use it to get a real
server.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import IO

import requests

from streamer.exceptions import ServerStartError

logger = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.1
_STOP_TIMEOUT_S = 5.0
_STDERR_TAIL = 800


class ServerState(enum.Enum):
    """Lifecycle of an :class:`EmbeddedServer`."""

    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class EmbeddedServer:
    """A ``streamer.server`` child process answering on ``http://host:port``.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        model: A name from :data:`streamer.server.MODELS`.
        host: Loopback address to bind.
        port: TCP port; 0 picks a free one at start.
        delay_ms: Answer delay of the ``null`` model.
        min_score: Score below which detections are dropped; model default if None.
        startup_timeout_s: How long to wait for the health route.
        extra_args: More command-line arguments for ``python -m streamer.server``.
    """

    def __init__(
        self,
        model: str = "people",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0.0,
        min_score: float | None = None,
        startup_timeout_s: float = 30.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.model = model
        self.host = host
        self.port = port
        self.delay_ms = delay_ms
        self.min_score = min_score
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = extra_args
        self.state = ServerState.NEW
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:8000``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedServer:
        """Start the child process and wait until it answers.

        Raises:
            ServerStartError: It exited or did not answer within the timeout.
        """
        with self._lock:
            if self.state is not ServerState.NEW:
                raise ServerStartError(
                    f"Cannot start an embedded server that is {self.state.value}; "
                    "create a new EmbeddedServer."
                )
            if self.port == 0:
                self.port = _free_port(self.host)
            # Closed in stop(); a file, unlike a pipe, never fills up and blocks.
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
            self._process = subprocess.Popen(
                self._command(), stdout=subprocess.DEVNULL, stderr=self._stderr
            )
            self.state = ServerState.RUNNING
        logger.info("Starting embedded %s server on %s", self.model, self.url)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the child: SIGTERM, wait, then SIGKILL. Safe to call twice."""
        with self._lock:
            process, self._process = self._process, None
            self.state = ServerState.STOPPED
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("Embedded server did not stop on SIGTERM; killing it")
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        logger.info("Stopped embedded %s server", self.model)

    def __enter__(self) -> EmbeddedServer:
        return self if self.state is ServerState.RUNNING else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "streamer.server", "--model", self.model]
        command += ["--host", self.host, "--port", str(self.port)]
        command += ["--exit-with-parent", str(os.getpid())]
        if self.delay_ms:
            command += ["--delay-ms", str(self.delay_ms)]
        if self.min_score is not None:
            command += ["--min-score", str(self.min_score)]
        return command + list(self.extra_args)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        with requests.Session() as session:
            while time.monotonic() < deadline:
                if self._exited():
                    raise ServerStartError(self._failure("exited during start-up"))
                if self._answers(session):
                    return
                time.sleep(_POLL_INTERVAL_S)
        raise ServerStartError(
            self._failure(f"did not answer within {self.startup_timeout_s:g} s")
        )

    def _answers(self, session: requests.Session) -> bool:
        # The pid tells our child apart from another server already on the port.
        try:
            reply = session.get(f"{self.url}/health", timeout=(0.5, 1.0))
            pid = reply.json().get("pid") if reply.status_code == 200 else None
        except (requests.RequestException, ValueError, AttributeError):
            return False
        return self._process is not None and pid == self._process.pid

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def _failure(self, what: str) -> str:
        return (
            f"The embedded {self.model} server on {self.url} {what}; "
            f"its stderr ends with: {self._stderr_tail() or '(nothing)'}"
        )

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return text[-_STDERR_TAIL:]


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port

"""Fixtures for source tests: a local RTSP server, ffmpeg-made files, helpers.

Every server binds 127.0.0.1. Under ``CI=true`` a missing tool (ffmpeg, the
GStreamer RTSP server) fails the test instead of skipping it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port, require

HERE = Path(__file__).parent
REPO = HERE.parents[1]
VTEST = REPO / "samples" / "vtest.avi"
SYSTEM_PYTHON = "/usr/bin/python3"

__all__ = ["free_port", "require"]
START_TIMEOUT_S = 15.0


def ffmpeg(*args: str) -> None:
    """Run Debian's ffmpeg quietly; raise on failure."""
    require(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args],
        check=True,
        timeout=120,
    )


class RtspServer:
    """The GStreamer RTSP test server as a subprocess on a fixed port."""

    def __init__(self, path: Path, port: int) -> None:
        self.path = path
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/stream"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the server and wait until it listens."""
        script = HERE / "rtsp_server.py"
        command = [SYSTEM_PYTHON, str(script), "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--file", str(self.path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("READY"), f"RTSP server did not start: {line!r}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(self.port):
            assert time.monotonic() < deadline, "RTSP server is not listening"
            time.sleep(0.05)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def freeze(self) -> None:
        """Stop the server process (SIGSTOP): sockets stay open, nothing is sent."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server go on (SIGCONT)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _have_rtsp_server() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer"
    )
    done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30)
    return done.returncode == 0


@pytest.fixture(scope="session")
def rtsp_available() -> bool:
    """Whether Debian's GStreamer RTSP server can run here."""
    return _have_rtsp_server()


@pytest.fixture
def rtsp_factory(rtsp_available: bool) -> Iterator[Callable[[], RtspServer]]:
    """Make RTSP servers looping vtest.avi; every one is killed at the end."""
    require(rtsp_available, "Debian's python3-gi and gir1.2-gst-rtsp-server-1.0")
    require(VTEST.is_file(), f"{VTEST} is missing")
    servers: list[RtspServer] = []

    def make() -> RtspServer:
        server = RtspServer(VTEST, free_port())
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.thaw()
        server.kill()


@pytest.fixture
def rtsp_server(rtsp_factory: Callable[[], RtspServer]) -> RtspServer:
    """A running RTSP server."""
    server = rtsp_factory()
    server.start()
    return server


def streamer_command(*args: str) -> list[str]:
    """The ``streamer`` CLI as a command line for this interpreter."""
    return [sys.executable, "-m", "streamer", *args]

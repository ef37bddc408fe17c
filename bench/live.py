"""Live runs: frame age behind a slow predictor, and memory over a long run.

The camera is an RTSP stream: GStreamer's RTSP server on 127.0.0.1 serving the
sample, retimed to 25 fps and repeated for as long as the run, read with the
``drop_oldest`` policy. ``LIVE_SOURCE = "file"`` replaces it with the same clip
paced at its own rate, for machines without the GStreamer RTSP server.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.harness import (
    CAMERA_CLIP,
    OUT,
    BoundedSource,
    make_camera_clip,
    pipeline_config,
    run_pipeline,
)
from streamer.config import SourceConfig
from streamer.frames import Frame, Image, Result, Status
from streamer.server import EmbeddedServer
from streamer.sources import Source, SourceInfo, open_source

#: "rtsp" serves the clip with GStreamer's RTSP server; "file" paces it instead.
LIVE_SOURCE = "rtsp"
CAMERA_FPS = 25.0
#: Memory samples before this are start-up (imports, first buffers), not growth.
WARM_UP_S = 60.0
DEBIAN_PYTHON = "/usr/bin/python3"


@contextlib.contextmanager
def live_camera(seconds: float) -> Iterator[Source]:
    """The simulated camera, or the RTSP stream when ``LIVE_SOURCE`` says so."""
    if LIVE_SOURCE != "rtsp":
        yield BoundedSource(
            make_camera_clip(CAMERA_CLIP),
            max_frames=int(seconds * CAMERA_FPS) + 50,
            max_s=seconds,
            realtime=True,
            loop=True,
            live=True,
        )
        return
    clip = make_camera_clip(CAMERA_CLIP, loops=int(seconds // 30) + 1)
    script = Path(__file__).with_name("rtsp_server.py")
    port = _free_port()
    command = [DEBIAN_PYTHON, str(script), str(clip), str(port)]
    server = subprocess.Popen([*command, str(seconds + 30)])
    try:
        _wait_for_port(port, 10.0)
        stream = open_source(SourceConfig(url=f"rtsp://127.0.0.1:{port}/vtest"))
        yield TimedSource(stream, seconds)
    finally:
        server.terminate()
        server.wait(10)


class TimedSource:
    """A live source that ends ``seconds`` after its first frame."""

    def __init__(self, inner: Source, seconds: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = seconds

    def open(self) -> SourceInfo:
        """Open the wrapped source."""
        return self.inner.open()

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """The wrapped source's frames, for ``seconds`` at most."""
        deadline: float | None = None
        for frame in self.inner.frames(stop):
            deadline = deadline or time.monotonic() + self.seconds
            yield frame
            if time.monotonic() >= deadline:
                return

    def close(self) -> None:
        """Close the wrapped source."""
        self.inner.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


class AgeSink:
    """Records how old each frame is when it reaches the sinks."""

    needs_image = False

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.ages: list[tuple[float, float]] = []
        self.dropped = 0

    def open(self, info: SourceInfo) -> None:
        """Start the clock."""
        self.started = time.monotonic()

    def write(self, result: Result, annotated: Image | None) -> None:
        """Note the frame's age, or count it as dropped."""
        now = time.monotonic()
        if result.status is Status.DROPPED:
            self.dropped += 1
            return
        self.ages.append((now - self.started, now - result.frame.captured_at))

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class Lag:
    """Frame ages over a live run."""

    seconds: float
    delay_ms: int
    workers: int
    delivered: int
    dropped: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    series: list[tuple[float, float]] = field(default_factory=list)


def lag(seconds: float, delay_ms: int = 100, workers: int = 4) -> Lag:
    """Run the live camera through a ``delay_ms`` predictor; return frame ages."""
    sink = AgeSink()
    with EmbeddedServer("null", delay_ms=delay_ms) as server:
        yaml_text = pipeline_config(
            server.port, workers=workers, policy="drop_oldest", queue_size=2
        )
        with live_camera(seconds) as source:
            run_pipeline(yaml_text, source, sinks=[sink])
    ages = sorted(1000 * age for _, age in sink.ages) or [0.0]
    return Lag(
        seconds,
        delay_ms,
        workers,
        len(sink.ages),
        sink.dropped,
        statistics.median(ages),
        ages[min(int(0.95 * len(ages)), len(ages) - 1)],
        ages[-1],
        sink.ages,
    )


@dataclass
class Memory:
    """Resident size of a pipeline process, sampled every second."""

    seconds: float
    samples: list[tuple[float, float]]
    slope_mb_min: float
    late_slope_mb_min: float
    exit_code: int | None
    late_intercept_mb: float = 0.0


def start_memory_run(seconds: float) -> subprocess.Popen[bytes]:
    """Start ``python -m bench.memrun`` (a looping live replay) as a child."""
    command = [sys.executable, "-m", "bench.memrun", str(seconds)]
    log = (OUT / "memory.log").open("wb")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


class MemoryWatch:
    """The memory run and a thread sampling it, beside whatever else runs."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.result: Memory | None = None
        self._process = start_memory_run(seconds)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        self.result = sample_memory(self._process, self.seconds)

    def wait(self) -> Memory:
        """Wait for the run to end (bounded) and return its figures."""
        self._thread.join(self.seconds + 90)
        if self.result is None:
            raise RuntimeError("the memory run did not finish in time")
        return self.result


def sample_memory(process: subprocess.Popen[bytes], seconds: float) -> Memory:
    """Sample the child's RSS every second until it ends (bounded), then fit."""
    samples: list[tuple[float, float]] = []
    watched = psutil.Process(process.pid)
    started = time.monotonic()
    stop = threading.Event()
    while process.poll() is None and time.monotonic() - started < seconds + 60:
        try:
            rss = watched.memory_info().rss / 2**20
        except psutil.Error:
            break
        samples.append((time.monotonic() - started, rss))
        stop.wait(1.0)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    late = [s for s in samples if s[0] >= WARM_UP_S]
    slope, _ = fit_per_min(samples)
    late_slope, late_intercept = fit_per_min(late)
    return Memory(
        seconds, samples, slope, late_slope, process.returncode, late_intercept
    )


def fit_per_min(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope (MB a minute) and intercept (MB at minute 0)."""
    if len(samples) < 3:
        return 0.0, samples[0][1] if samples else 0.0
    times = [t / 60 for t, _ in samples]
    values = [v for _, v in samples]
    fit = statistics.linear_regression(times, values)
    return fit.slope, fit.intercept

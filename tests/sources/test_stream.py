"""StreamSource against a real local RTSP server: kill, freeze, late start."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from streamer.config import SourceConfig, parse_config
from streamer.exceptions import SourceError
from streamer.frames import Frame, Result, Status
from streamer.pipeline import Pipeline
from streamer.probe import probe
from streamer.sources import ReconnectPolicy, SourceState, SourceStatus, StreamSource
from tests.sources.conftest import RtspServer, free_port

pytestmark = pytest.mark.slow

FAST = ReconnectPolicy(open_timeout_s=2.0, read_timeout_s=2.0, max_backoff_s=2.0)


@dataclass
class Seen:
    """A frame as the consumer saw it."""

    index: int
    captured_at: float
    mean: float
    digest: str


@dataclass
class Consumer:
    """Iterates a source's frames in a thread and keeps what it saw."""

    source: StreamSource
    delay_s: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    seen: list[Seen] = field(default_factory=list)
    ended_at: float | None = None
    error: BaseException | None = None

    def start(self) -> Consumer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for frame in self.source.frames(self.stop):
                self.seen.append(_seen(frame))
                if self.delay_s:
                    time.sleep(self.delay_s)
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count:
            assert time.monotonic() < deadline, f"only {len(self.seen)} frames"
            time.sleep(0.05)

    def finish(self, timeout: float = 5.0) -> float:
        """Set stop; return how long frames() took to end."""
        asked = time.monotonic()
        self.stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"frames() still running after {timeout} s"
        assert self.ended_at is not None
        return self.ended_at - asked


def _seen(frame: Frame) -> Seen:
    assert frame.image is not None
    digest = hashlib.blake2b(frame.image.tobytes(), digest_size=16).hexdigest()
    return Seen(frame.index, frame.captured_at, float(frame.image.mean()), digest)


def _wait_state(
    source: StreamSource, state: SourceState, timeout: float
) -> SourceStatus:
    deadline = time.monotonic() + timeout
    while (status := source.status()).state is not state:
        assert time.monotonic() < deadline, f"still {status} after {timeout} s"
        time.sleep(0.02)
    return status


def _assert_fresh(seen: list[Seen]) -> None:
    """No black pictures, no picture twice, capture times and indices increase."""
    assert all(s.mean > 20 for s in seen), min(s.mean for s in seen)
    for before, after in itertools.pairwise(seen):
        assert after.digest != before.digest, f"frame {after.index} repeats"
        assert after.captured_at > before.captured_at
        assert after.index > before.index


def test_opens_fast_and_streams(rtsp_server: RtspServer) -> None:
    source = StreamSource(rtsp_server.url, FAST)
    started = time.monotonic()
    info = source.open()
    opened_s = time.monotonic() - started
    consumer = Consumer(source).start()
    try:
        consumer.wait_for(20, timeout=10)
    finally:
        consumer.finish()
        source.close()
    print(f"RTSP open to first frame: {opened_s:.2f} s")
    assert (info.width, info.height, info.live) == (768, 576, True)
    assert opened_s < 2.0
    _assert_fresh(consumer.seen)
    assert source.status().state is SourceState.STOPPED


class SeenSink:
    """A sink that keeps what the pipeline delivered, for the checks below."""

    needs_image = False

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.statuses: list[str] = []

    def open(self, info: object) -> None:
        return

    def write(self, result: Result, annotated: object) -> None:
        self.statuses.append(result.status.value)
        if result.status is Status.OK:
            self.seen.append(_seen(result.frame))

    def close(self) -> None:
        return


def test_pipeline_survives_the_server_killed_and_restarted(
    rtsp_server: RtspServer,
) -> None:
    config = parse_config(
        f"source: {{url: '{rtsp_server.url}', open_timeout_s: 2, read_timeout_s: 2,"
        " reconnect_max_backoff_s: 2}\n"
        "predictor: {serve: {model: 'null', delay_ms: 20}}\n"
        "pipeline: {workers: 2, queue_size: 2, progress: false}\n"
    )
    sink = SeenSink()
    pipeline = Pipeline(config, sinks=[sink])
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    try:
        _wait_until(lambda: len(sink.seen) >= 30, timeout=30)
        rtsp_server.kill()
        _wait_until(lambda: pipeline.metrics.source_state() == "reconnecting", 5)
        time.sleep(10)
        rtsp_server.start()
        back = time.monotonic()
        _wait_until(lambda: any(s.captured_at > back for s in sink.seen), 10)
        resumed = min(s.captured_at for s in sink.seen if s.captured_at > back)
        count = len(sink.seen)
        _wait_until(lambda: len(sink.seen) >= count + 10, timeout=5)
        assert runner.is_alive(), "the run ended while the server was away"
        assert pipeline.metrics.source_state() == "streaming"
    finally:
        pipeline.request_stop()
        runner.join(timeout=15)
    print(f"the pipeline resumed {resumed - back:.2f} s after the server came back")
    assert not runner.is_alive()
    assert resumed - back < 5.0
    assert pipeline.summary.reconciled
    assert "failed" not in sink.statuses
    _assert_fresh(sink.seen)


def _wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not true after {timeout} s"
        time.sleep(0.05)


def _first_frame_after(consumer: Consumer, moment: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        later = [s.captured_at for s in consumer.seen if s.captured_at > moment]
        if later:
            return later[0]
        assert time.monotonic() < deadline, "no frame after the server came back"
        time.sleep(0.05)


def test_frozen_server_is_declared_dead_and_stop_still_works(
    rtsp_server: RtspServer,
) -> None:
    source = StreamSource(rtsp_server.url, FAST)
    source.open()
    consumer = Consumer(source).start()
    try:
        consumer.wait_for(10, timeout=10)
        rtsp_server.freeze()
        frozen = time.monotonic()
        status = _wait_state(source, SourceState.RECONNECTING, timeout=10)
        detected = time.monotonic() - frozen
        time.sleep(1.0)
        took = consumer.finish(timeout=5)
    finally:
        consumer.stop.set()
        source.close()
        rtsp_server.thaw()
    print(f"freeze detected after {detected:.2f} s; stop took {took:.2f} s")
    assert detected < 10
    assert status.last_error
    assert took < 5


def test_starts_before_the_server_exists(
    rtsp_factory: Callable[[], RtspServer],
) -> None:
    server = rtsp_factory()
    policy = ReconnectPolicy(open_timeout_s=1.0, read_timeout_s=2.0, max_backoff_s=1.0)
    source = StreamSource(server.url, policy)
    started = time.monotonic()
    info = source.open()
    assert time.monotonic() - started < 3.0
    assert (info.width, info.height) == (0, 0)
    assert source.status().state in {SourceState.CONNECTING, SourceState.RECONNECTING}
    assert source.status().last_error
    consumer = Consumer(source).start()
    try:
        time.sleep(1.0)
        assert consumer.seen == []
        server.start()
        up = time.monotonic()
        consumer.wait_for(5, timeout=8)
    finally:
        consumer.finish()
        source.close()
    print(f"first frame {consumer.seen[0].captured_at - up:.2f} s after server start")
    _assert_fresh(consumer.seen)


def test_password_never_shown(capfd: pytest.CaptureFixture[str]) -> None:
    url = f"rtsp://admin:hunter2secret@127.0.0.1:{free_port()}/stream"
    policy = ReconnectPolicy(open_timeout_s=0.5, max_backoff_s=0.1, max_attempts=2)
    source = StreamSource(url, policy)
    assert "hunter2secret" not in source.name
    with pytest.raises(SourceError) as caught:
        source.open()
    source.close()
    assert "hunter2secret" not in str(caught.value)
    assert "admin:***@127.0.0.1" in str(caught.value)
    out, err = capfd.readouterr()
    assert "hunter2secret" not in out + err


def test_gives_up_after_max_attempts_while_reading() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/stream"
    policy = ReconnectPolicy(open_timeout_s=0.3, max_backoff_s=0.1, max_attempts=3)
    source = StreamSource(url, policy)
    with pytest.raises(SourceError, match="gave up on"):
        source.open()
    assert source.status().state is SourceState.STOPPED
    source.close()


def test_probe_measures_a_stream(rtsp_server: RtspServer) -> None:
    report = probe(SourceConfig(url=rtsp_server.url), live_seconds=1.5)
    assert report.kind == "stream"
    assert (report.info.width, report.info.height) == (768, 576)
    assert report.info.codec == "h264"
    assert report.decoded > 5
    assert report.first_frame_s is not None and report.first_frame_s < 2.0
    assert report.measured_fps is not None and 5 < report.measured_fps < 20


def test_refused_camera_at_start_does_not_hold_up_open() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/stream"
    source = StreamSource(url, ReconnectPolicy(open_timeout_s=10.0))
    started = time.monotonic()
    info = source.open()
    took = time.monotonic() - started
    try:
        assert (info.width, info.height) == (0, 0)
        assert took < 2.0, f"open() took {took:.1f} s for a refused camera"
        assert source.status().state is not SourceState.STOPPED
    finally:
        source.close()

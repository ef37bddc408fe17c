"""LiveReader and LiveSource with scripted captures: states, backoff, watchdog."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from streamer.exceptions import SourceError
from streamer.frames import Frame
from streamer.sources import LiveSource, ReconnectPolicy, SourceState, SourceStatus

QUICK = ReconnectPolicy(open_timeout_s=1.0, read_timeout_s=0.5, max_backoff_s=0.2)


class ScriptedCapture:
    """Reads ``good`` distinct pictures every ``period_s``, then fails."""

    def __init__(
        self, good: int, period_s: float = 0.01, hang: threading.Event | None = None
    ) -> None:
        self._left = good
        self._period = period_s
        self._hang = hang
        self._count = itertools.count(1)
        self.released = False

    def read(self) -> tuple[bool, Any]:
        if self._left <= 0:
            if self._hang is not None:
                self._hang.wait(30)
            return False, np.zeros((4, 4, 3), np.uint8)  # what a dead capture returns
        self._left -= 1
        time.sleep(self._period)
        return True, np.full((4, 4, 3), 30 + next(self._count) % 200, np.uint8)

    def get(self, prop: int) -> float:
        return 10.0

    def release(self) -> None:
        self.released = True


class ScriptedSource(LiveSource):
    """A LiveSource whose captures come from a list of factories."""

    def __init__(
        self,
        script: list[Callable[[], ScriptedCapture]],
        policy: ReconnectPolicy = QUICK,
        **kwargs: Any,
    ) -> None:
        super().__init__("scripted", policy, **kwargs)
        self.opens = 0
        self._script = script

    def _open_capture(self) -> ScriptedCapture:
        self.opens += 1
        if self.opens > len(self._script):
            raise SourceError("scripted camera is offline")
        return self._script[self.opens - 1]()


def collect(source: LiveSource, until: Callable[[list[Frame]], bool]) -> list[Frame]:
    """Read frames until ``until`` holds (at most 10 s)."""
    stop, frames = threading.Event(), []
    deadline = time.monotonic() + 10
    for frame in source.frames(stop):
        frames.append(frame)
        if until(frames) or time.monotonic() > deadline:
            break
    return frames


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [(1, 0.375, 0.625), (2, 0.75, 1.25), (3, 1.5, 2.5), (6, 6.0, 8.0), (60, 6.0, 8.0)],
)
def test_backoff_doubles_with_jitter_up_to_the_cap(
    failures: int, low: float, high: float
) -> None:
    policy = ReconnectPolicy(max_backoff_s=8.0)
    delays = [policy.delay(failures) for _ in range(50)]
    assert all(low <= d <= high for d in delays)


def test_reconnects_after_a_failed_read_without_fake_frames() -> None:
    events: list[SourceStatus] = []
    source = ScriptedSource(
        [lambda: ScriptedCapture(5), lambda: ScriptedCapture(5)],
        on_status=events.append,
    )
    source.open()
    frames = collect(source, lambda seen: len(seen) >= 8)
    source.close()
    states = [e.state for e in events]
    assert states[:4] == [
        SourceState.CONNECTING,
        SourceState.STREAMING,
        SourceState.RECONNECTING,
        SourceState.STREAMING,
    ]
    assert states[-1] is SourceState.STOPPED
    assert events[-1].reconnects == 1
    assert all(f.image is not None and f.image.mean() >= 30 for f in frames)
    assert all(b.index > a.index for a, b in itertools.pairwise(frames))


def test_gives_up_after_max_attempts() -> None:
    policy = ReconnectPolicy(open_timeout_s=1.0, max_backoff_s=0.05, max_attempts=3)
    source = ScriptedSource([lambda: ScriptedCapture(3)], policy)
    source.open()
    with pytest.raises(SourceError, match="gave up on scripted: scripted camera is"):
        collect(source, lambda seen: False)
    assert source.opens == 4
    source.close()


def test_watchdog_abandons_a_stuck_read_and_reconnects() -> None:
    hang = threading.Event()
    source = ScriptedSource(
        [lambda: ScriptedCapture(3, hang=hang), lambda: ScriptedCapture(50)]
    )
    try:
        source.open()
        frames = collect(source, lambda seen: len(seen) >= 10)
        assert source.status().reconnects == 1
        assert "read timeout" in (source.status().last_error or "")
        assert source.opens == 2
        assert len(frames) == 10
        started = time.monotonic()
        source.close()
        assert time.monotonic() - started < 1.5
    finally:
        hang.set()


def test_max_fps_spaces_frames_out() -> None:
    source = ScriptedSource([lambda: ScriptedCapture(200, period_s=0.01)], max_fps=10)
    info = source.open()
    frames = collect(source, lambda seen: len(seen) >= 5)
    source.close()
    assert info.fps == 10
    gaps = np.diff([f.captured_at for f in frames])
    assert all(gap >= 0.099 for gap in gaps)


def test_offline_at_start_opens_without_error() -> None:
    policy = ReconnectPolicy(open_timeout_s=0.3, max_backoff_s=0.05)
    source = ScriptedSource([], policy)
    started = time.monotonic()
    info = source.open()
    assert time.monotonic() - started < 1.0
    assert (info.width, info.height, info.live) == (0, 0, True)
    assert source.status().last_error == "scripted camera is offline"
    source.close()
    assert source.status().state is SourceState.STOPPED

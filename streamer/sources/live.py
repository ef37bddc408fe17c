"""Reading a live capture (stream or camera) in its own thread.

A ``LiveReader`` keeps one capture open in a daemon thread and publishes the
newest decoded picture; consumers ask for "the newest frame after the one I
had", so a slow consumer skips frames instead of falling behind. A watchdog
declares the capture dead when no frame arrived for ``read_timeout_s`` (a
frozen server can hold ``read()`` for several times its timeout), abandons the
stuck thread and reconnects in a fresh one. Reconnects follow a capped
exponential backoff with jitter, forever unless ``max_attempts`` is set.

The reader's lifecycle::

    CONNECTING ──> STREAMING <──> RECONNECTING
         │             │               │
         └─────────────┴───────────────┴──> STOPPED

Each change is published as a ``SourceStatus`` (``status()`` and the optional
callback) and logged once; per-frame facts go only into the status counters.
"""

from __future__ import annotations

import atexit
import enum
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import cv2

from streamer.exceptions import SourceError
from streamer.frames import Frame, Image
from streamer.sources.base import SourceInfo, fourcc_name, to_bgr

logger = logging.getLogger(__name__)

WATCH_PERIOD_S = 0.1
#: How often ``frames()`` looks at its stop event while no frame comes.
POLL_S = 0.1
FALLBACK_FPS = 25.0
PLAUSIBLE_FPS = (1.0, 240.0)
#: Threads stuck in a frozen ``read()`` that may linger before no new ones start.
MAX_ABANDONED = 2
FIRST_BACKOFF_S = 0.5
JITTER = 0.25
#: How long ``close`` waits for the reader to leave a capture call.
CLOSE_WAIT_S = 1.0
#: FFmpeg retries a timed-out read a few times before giving up.
READ_RETRIES = 3


class SourceState(str, enum.Enum):
    """Where a live source is in its lifecycle."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


_ALLOWED: dict[SourceState, frozenset[SourceState]] = {
    SourceState.CONNECTING: frozenset(
        {SourceState.CONNECTING, SourceState.STREAMING, SourceState.STOPPED}
    ),
    SourceState.STREAMING: frozenset({SourceState.RECONNECTING, SourceState.STOPPED}),
    SourceState.RECONNECTING: frozenset(
        {SourceState.RECONNECTING, SourceState.STREAMING, SourceState.STOPPED}
    ),
    SourceState.STOPPED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A live source's state, as published on every change.

    Attributes:
        state: The lifecycle state.
        since: ``time.monotonic()`` when the state was entered.
        reconnects: How many times the stream was lost and reconnection began.
        frames: Pictures read since the start, across reconnects.
        last_error: The latest reason a connection failed or was lost.
    """

    state: SourceState
    since: float
    reconnects: int = 0
    frames: int = 0
    last_error: str | None = None


StatusCallback = Callable[[SourceStatus], None]
#: Opens a capture, or raises ``SourceError`` saying why it cannot.
Opener = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Timeouts and the backoff between attempts to (re)open a capture."""

    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    max_backoff_s: float = 30.0
    max_attempts: int | None = None

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed attempts."""
        base = min(self.max_backoff_s, FIRST_BACKOFF_S * 2 ** min(failures - 1, 30))
        jittered = base * random.uniform(1 - JITTER, 1 + JITTER)
        return float(min(self.max_backoff_s, jittered))

    @property
    def longest_call_s(self) -> float:
        """The longest a single open or read may block."""
        return max(self.open_timeout_s, READ_RETRIES * self.read_timeout_s)

    def exhausted(self, failures: int) -> bool:
        """True when no further attempt is allowed."""
        return self.max_attempts is not None and failures >= self.max_attempts


@dataclass(frozen=True, slots=True)
class Grab:
    """One picture read by the reader thread."""

    seq: int
    image: Image
    captured_at: float
    wall_time: float


class LiveReader:
    """Keeps a capture open in a daemon thread and hands out the newest frame.

    Args:
        name: The source's name, safe to log.
        opener: Opens a capture (a ``cv2.VideoCapture``-like object).
        policy: Timeouts and backoff.
        on_status: Called with every status change, from the reader's threads.
    """

    def __init__(
        self,
        name: str,
        opener: Opener,
        policy: ReconnectPolicy,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.name = name
        self.reported_fps = 0.0
        self.reported_codec: str | None = None
        self._opener = opener
        self.policy = policy
        self._on_status = on_status
        self._lock = threading.Lock()
        self._fresh = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._status = SourceStatus(SourceState.CONNECTING, time.monotonic())
        self._latest: Grab | None = None
        self._last_frame_at = time.monotonic()
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._abandoned: list[threading.Thread] = []
        self._watchdog: threading.Thread | None = None
        _readers.add(self)

    def start(self) -> None:
        """Start connecting in the background; returns at once."""
        if self._watchdog is not None:
            raise SourceError(f"{self.name}: start() called twice")
        logger.info("connecting to %s", self.name)
        self._transition(SourceState.CONNECTING)
        self._spawn_worker()
        self._watchdog = threading.Thread(
            target=self._watch, name=f"watchdog {self.name}", daemon=True
        )
        self._watchdog.start()

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed.is_set()

    def status(self) -> SourceStatus:
        """The current status."""
        with self._lock:
            return self._status

    def next_after(self, seq: int, timeout: float) -> Grab | None:
        """The newest frame newer than ``seq``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._fresh:
            while self._latest is None or self._latest.seq <= seq:
                left = deadline - time.monotonic()
                if left <= 0 or self._status.state is SourceState.STOPPED:
                    return None
                self._fresh.wait(left)
            return self._latest

    def close(self) -> None:
        """Stop every thread; waits at most ``CLOSE_WAIT_S`` for a stuck read."""
        if not self._closed.is_set():
            logger.info("stopping %s", self.name)
        self._closed.set()
        self._transition(SourceState.STOPPED)
        with self._fresh:
            self._fresh.notify_all()
        self.join(CLOSE_WAIT_S)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for every thread to end; True if they did."""
        deadline = time.monotonic() + timeout
        threads = [self._watchdog, self._worker, *self._abandoned]
        for thread in threads:
            if thread is None or thread is threading.current_thread():
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t is not None and t.is_alive() for t in threads)

    # -- reader threads -------------------------------------------------------

    def _spawn_worker(self) -> None:
        with self._lock:
            generation = self._generation
        worker = threading.Thread(
            target=self._run,
            args=(generation,),
            name=f"reader {self.name}",
            daemon=True,
        )
        self._worker = worker
        worker.start()

    def _current(self, generation: int) -> bool:
        return not self._closed.is_set() and self._generation == generation

    def _run(self, generation: int) -> None:
        try:
            self._connect_loop(generation)
        except Exception as exc:
            logger.exception("reader of %s failed", self.name)
            self._transition(SourceState.STOPPED, error=f"{type(exc).__name__}: {exc}")

    def _connect_loop(self, generation: int) -> None:
        failures = 0
        while self._current(generation):
            capture = self._try_open(generation)
            if capture is None:
                failures += 1
                if self.policy.exhausted(failures):
                    self._give_up(failures)
                    return
                self._closed.wait(self.policy.delay(failures))
                continue
            failures = 0
            try:
                reason = self._pump(capture, generation)
            finally:
                capture.release()
            if self._current(generation):
                self._lost(reason)

    def _try_open(self, generation: int) -> Any | None:
        try:
            capture = self._opener()
        except SourceError as exc:
            self._note_error(str(exc))
            return None
        if not self._current(generation):
            capture.release()
            return None
        self.reported_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.reported_codec = fourcc_name(capture.get(cv2.CAP_PROP_FOURCC))
        with self._lock:
            self._last_frame_at = time.monotonic()
        self._transition(SourceState.STREAMING)
        return capture

    def _pump(self, capture: Any, generation: int) -> str:
        """Read until the capture fails; return why it stopped."""
        limit = self.policy.read_timeout_s
        while self._current(generation):
            asked = time.monotonic()
            ok, image = capture.read()
            waited = time.monotonic() - asked
            if not self._current(generation):
                break
            if not ok or image is None or image.size == 0:
                return "the stream stopped sending frames (read failed)"
            if waited > limit:
                # FFmpeg hands out what it still buffered when its read times
                # out; a frame that took this long belongs to a dead stream.
                return f"no frame for {waited:.1f} s (read timeout)"
            self._publish(to_bgr(image))
        return "closed"

    def _publish(self, image: Image) -> None:
        with self._fresh:
            seq = self._latest.seq + 1 if self._latest else 1
            self._latest = Grab(seq, image, time.monotonic(), time.time())
            self._last_frame_at = self._latest.captured_at
            self._status = replace(self._status, frames=self._status.frames + 1)
            self._fresh.notify_all()

    # -- watchdog ---------------------------------------------------------------

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_PERIOD_S):
            if self.status().state is SourceState.STOPPED:
                return
            self._check_age()
            self._ensure_worker()

    def _check_age(self) -> None:
        with self._lock:
            age = time.monotonic() - self._last_frame_at
            if self._status.state is not SourceState.STREAMING:
                return
            if age <= self.policy.read_timeout_s:
                return
            self._generation += 1
            if self._worker is not None:
                self._abandoned.append(self._worker)
            self._worker = None
        self._lost(f"no frame for {age:.1f} s (read timeout)")

    def _ensure_worker(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        self._abandoned = [t for t in self._abandoned if t.is_alive()]
        if len(self._abandoned) >= MAX_ABANDONED:
            return
        self._spawn_worker()

    # -- state ------------------------------------------------------------------

    def _lost(self, reason: str) -> None:
        lost = self._transition(
            SourceState.RECONNECTING,
            error=reason,
            reconnect=True,
            expect=SourceState.STREAMING,
        )
        if lost:
            logger.warning("lost %s: %s; reconnecting", self.name, reason)

    def _give_up(self, failures: int) -> None:
        error = self.status().last_error
        logger.warning(
            "gave up on %s after %d attempts: %s", self.name, failures, error
        )
        self._transition(SourceState.STOPPED, error=error)
        with self._fresh:
            self._fresh.notify_all()

    def _note_error(self, error: str) -> None:
        state = self.status().state
        logger.debug("%s: %s", self.name, error)
        self._transition(state, error=error)

    def _transition(
        self,
        state: SourceState,
        *,
        error: str | None = None,
        reconnect: bool = False,
        expect: SourceState | None = None,
    ) -> bool:
        """Move to ``state`` (from ``expect`` only, if given); False if refused."""
        with self._lock:
            old = self._status
            if state not in _ALLOWED[old.state] or expect not in (None, old.state):
                return False  # a late report from an abandoned or closed thread
            since = old.since if state is old.state else time.monotonic()
            self._status = replace(
                old,
                state=state,
                since=since,
                reconnects=old.reconnects + int(reconnect),
                last_error=error if error is not None else old.last_error,
            )
            status = self._status
        if state is SourceState.STREAMING:
            logger.info("streaming from %s", self.name)
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                logger.exception("status callback of %s failed", self.name)
        return True


_readers: weakref.WeakSet[LiveReader] = weakref.WeakSet()


@atexit.register
def _wait_for_readers() -> None:
    """Let reader threads leave OpenCV before the interpreter goes away.

    A daemon thread that returns from a C++ call while Python finalizes is
    torn down inside OpenCV's exception handler, which aborts the process
    ("FATAL: exception not rethrown"); so at exit each closed reader gets up
    to its longest blocking call to finish.
    """
    for reader in list(_readers):
        reader.close()
        if not reader.join(0.0):
            wait = reader.policy.longest_call_s
            logger.info("waiting up to %.1f s for %s to let go", wait, reader.name)
            reader.join(wait)


class LiveSource:
    """The newest frames of a capture kept open by a ``LiveReader``.

    Subclasses say how to open their capture (``_open_capture``) and may check
    the source before the reader starts (``_check``).

    Args:
        name: Safe to log (no password).
        policy: Timeouts and backoff.
        max_fps: Hand out at most this many frames a second.
        on_status: Called with every status change.
    """

    def __init__(
        self,
        name: str,
        policy: ReconnectPolicy,
        *,
        max_fps: float | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.max_fps = max_fps
        self._on_status = on_status
        self._reader: LiveReader | None = None
        self._open_cancelled = threading.Event()

    def status(self) -> SourceStatus:
        """The reader's current status (CONNECTING before ``open``)."""
        if self._reader is None:
            return SourceStatus(SourceState.CONNECTING, time.monotonic())
        return self._reader.status()

    def open(self) -> SourceInfo:
        """Start reading; wait up to ``open_timeout_s`` for a first frame.

        A source that is offline does not fail here: the size is then reported
        as 0x0 and reading goes on in the background until it comes up.
        """
        self._check()
        self._reader = LiveReader(
            self.name, self._open_capture, self.policy, self._on_status
        )
        self._reader.start()
        first = self._first_frame(self._reader)
        if first is None:
            self._raise_if_stopped()
            if self._open_cancelled.is_set():
                return SourceInfo(0, 0, self._fps(), live=True)
            logger.info(
                "waiting for %s, which is not streaming yet (%s); reading goes "
                "on in the background",
                self.name,
                self._reader.status().last_error or "no frame in time",
            )
            return SourceInfo(0, 0, self._fps(), live=True)
        height, width = first.image.shape[:2]
        codec = self._reader.reported_codec
        return SourceInfo(width, height, self._fps(), codec=codec, live=True)

    def cancel_open(self) -> None:
        """Make a waiting ``open`` return at once (the run is stopping)."""
        self._open_cancelled.set()

    def _first_frame(self, reader: LiveReader) -> Grab | None:
        """The first frame, or None once the first attempt failed or time ran out.

        A refused or failed first connection is not waited out when the source
        retries for ever: reading goes on in the background, and the run can
        start its outputs meanwhile. With a bounded number of attempts, the
        wait goes on so that giving up is reported here.
        """
        deadline = time.monotonic() + self.policy.open_timeout_s
        retries_forever = self.policy.max_attempts is None
        while not self._open_cancelled.is_set():
            left = deadline - time.monotonic()
            failed = reader.status().last_error is not None
            if left <= 0 or (failed and retries_forever):
                return None
            grab = reader.next_after(0, timeout=min(left, POLL_S))
            if grab is not None:
                return grab
        return None

    @property
    def reported_fps(self) -> float:
        """The rate the stream or camera claims (0 when unknown)."""
        return self._reader.reported_fps if self._reader else 0.0

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Yield the newest frame each time a new one arrives, until ``stop``."""
        reader = self._reader
        if reader is None:
            raise SourceError(f"{self.name} must be opened before reading frames")
        min_gap = 1.0 / self.max_fps if self.max_fps else 0.0
        seen, kept_at = 0, -float("inf")
        while not stop.is_set():
            grab = reader.next_after(seen, timeout=POLL_S)
            if grab is None:
                if reader.status().state is SourceState.STOPPED:
                    self._raise_if_stopped()
                    return
                continue
            seen = grab.seq
            if grab.captured_at - kept_at < min_gap:
                continue
            kept_at = grab.captured_at
            yield Frame(
                index=grab.seq - 1,
                source_id=self.name,
                image=grab.image,
                captured_at=grab.captured_at,
                wall_time=grab.wall_time,
            )

    def close(self) -> None:
        """Stop the reader; returns within about a second."""
        if self._reader is not None:
            self._reader.close()

    def _fps(self) -> float:
        reported = self._reader.reported_fps if self._reader else 0.0
        fps = reported if PLAUSIBLE_FPS[0] <= reported <= PLAUSIBLE_FPS[1] else 0.0
        fps = fps or FALLBACK_FPS
        return min(fps, self.max_fps) if self.max_fps else fps

    def _raise_if_stopped(self) -> None:
        """Raise if the reader gave up (not when it was closed)."""
        assert self._reader is not None
        status = self._reader.status()
        if status.state is SourceState.STOPPED and not self._reader.closed:
            raise SourceError(
                f"gave up on {self.name}: {status.last_error or 'it never answered'}"
            )

    def _check(self) -> None:
        """Fail early when the source can never work (override)."""

    def _open_capture(self) -> Any:
        raise NotImplementedError

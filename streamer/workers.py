"""The worker pool that turns queued frames into results.

Two stages share the work. Encoder threads (as many as there are cores, at most
two) take frames from the queue and encode them to the bytes the server will
receive; request workers send those bytes and wait for the answer. Encoding is
CPU work and a request is mostly waiting, so splitting them keeps each worker's
cycle down to the request itself: with a 50 ms server, a worker that also
encoded would spend a few more milliseconds a frame away from the server.

Each thread builds its own predictor, and with it its own HTTP session:
``requests.Session`` is not documented as thread-safe, so none is ever shared.
No thread dies of a failed request or a bad picture: every frame taken from the
queue leaves as a result, ``ok``, ``failed`` (with the reason) or ``dropped``
(too old to send, or the run was aborted).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from streamer.exceptions import (
    InvalidApiKeyError,
    PermissionDeniedError,
    StreamerError,
    UnauthorizedError,
)
from streamer.frames import Frame, Result, Status
from streamer.queueing import FrameQueue

logger = logging.getLogger(__name__)

#: Errors that no retry or later frame can fix: the run stops on the first one.
FATAL_ERRORS = (InvalidApiKeyError, UnauthorizedError, PermissionDeniedError)

#: How often an idle thread looks at the queue's state.
POLL_S = 0.1

#: Encoder threads: encoding is CPU work, more threads than cores do not help.
ENCODERS = max(1, min(2, os.cpu_count() or 1))

ABORTED = "the run was aborted before the frame was sent"


class PredictorLike(Protocol):
    """The part of a predictor's API the workers use.

    A predictor may also have ``encode(image) -> bytes``; its ``predict`` then
    takes those bytes. Without it, ``predict`` gets the picture itself.
    """

    def predict(self, image: Any) -> Sequence[Any]:
        """Return the predictions for one picture."""
        ...


@dataclass(frozen=True, slots=True)
class _Job:
    """A frame ready to send: its encoded bytes (or picture) and time so far."""

    frame: Frame
    payload: Any
    queue_s: float
    encode_s: float


class WorkerPool:
    """``count`` request workers and a few encoders draining ``frames``.

    Args:
        frames: The queue to drain; the pool ends when it is closed and empty.
        make_predictor: Called once in each thread.
        results: Where every result goes.
        count: How many request workers.
        max_frame_age_s: Frames older than this when their turn comes are dropped.
        abort: When set, frames not yet sent are dropped.
        on_fatal: Called with the reason when a request fails in a way that
            no retry can fix (a rejected API key, no permission).
    """

    def __init__(
        self,
        frames: FrameQueue,
        make_predictor: Callable[[], PredictorLike],
        results: queue.Queue[Result],
        *,
        count: int,
        max_frame_age_s: float | None = None,
        abort: threading.Event | None = None,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self._frames = frames
        self._make_predictor = make_predictor
        self._results = results
        self._max_age = max_frame_age_s
        self._abort = abort or threading.Event()
        self._on_fatal = on_fatal or (lambda reason: None)
        self._ready: queue.Queue[_Job | None] = queue.Queue(maxsize=count)
        self._encoders_left = ENCODERS
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._encode_loop, name=f"encoder-{i}", daemon=True)
            for i in range(ENCODERS)
        ] + [
            threading.Thread(target=self._request_loop, name=f"worker-{i}", daemon=True)
            for i in range(count)
        ]

    def start(self) -> None:
        """Start every thread."""
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads to end; return True if they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    def _build_predictor(self) -> tuple[PredictorLike | None, str | None]:
        try:
            return self._make_predictor(), None
        except Exception as exc:  # one clear reason on every frame it would take
            name = threading.current_thread().name
            logger.error("%s could not create its predictor: %s", name, exc)
            return None, f"predictor could not be created: {exc}"

    def _encode_loop(self) -> None:
        predictor, _ = self._build_predictor()
        encode = getattr(predictor, "encode", None)
        try:
            while True:
                item = self._frames.get(timeout=POLL_S)
                if item is None:
                    if self._frames.finished:
                        break
                    continue
                job = self._prepare(encode, *item)
                if isinstance(job, Result):
                    self._results.put(job)
                else:
                    self._ready.put(job)
        finally:
            self._encoder_done()

    def _prepare(
        self, encode: Callable[[Any], bytes] | None, frame: Frame, waited: float
    ) -> _Job | Result:
        if self._abort.is_set():
            return _dropped(frame, ABORTED)
        if frame.image is None:
            return Result(frame, Status.FAILED, error=frame.error)
        if encode is None:
            return _Job(frame, frame.image, waited, 0.0)

        started = time.monotonic()
        try:
            payload = encode(frame.image)
        except Exception as exc:  # a picture that cannot be encoded fails alone
            reason = f"cannot encode the picture: {exc}"
            return Result(frame, Status.FAILED, error=reason)
        return _Job(frame, payload, waited, time.monotonic() - started)

    def _encoder_done(self) -> None:
        with self._lock:
            self._encoders_left -= 1
            last = self._encoders_left == 0
        if last:  # tell every request worker that nothing more is coming
            for _ in range(len(self._threads) - ENCODERS):
                self._ready.put(None)

    def _request_loop(self) -> None:
        name = threading.current_thread().name
        predictor, setup_error = self._build_predictor()
        while (job := self._ready.get()) is not None:
            if self._abort.is_set():
                result = _dropped(job.frame, ABORTED)
            elif predictor is None:
                result = Result(job.frame, Status.FAILED, error=setup_error)
            else:
                result = self._send(predictor, job, name)
            self._results.put(result)

    def _send(self, predictor: PredictorLike, job: _Job, name: str) -> Result:
        frame = job.frame
        age = time.monotonic() - frame.captured_at
        if self._max_age is not None and age > self._max_age:
            reason = f"stale: {age:.2f} s old, over the {self._max_age:.2f} s limit"
            return _dropped(frame, reason)

        started = time.monotonic()
        try:
            predictions = predictor.predict(job.payload)
        except FATAL_ERRORS as exc:
            self._on_fatal(str(exc))
            reason = str(exc)
        except StreamerError as exc:
            reason = str(exc)
        except Exception as exc:  # keep the worker alive, record the reason
            logger.exception("unexpected error predicting frame %d", frame.index)
            reason = f"{type(exc).__name__}: {exc}"
        else:
            timings = _timings(predictor, job, started)
            return Result(
                frame, Status.OK, tuple(predictions), timings=timings, worker=name
            )
        timings = _timings(predictor, job, started)
        return Result(frame, Status.FAILED, error=reason, timings=timings, worker=name)


def _dropped(frame: Frame, reason: str) -> Result:
    return Result(frame, Status.DROPPED, error=reason)


def _timings(predictor: PredictorLike, job: _Job, started: float) -> dict[str, float]:
    timings = {"queue_s": job.queue_s, "predict_s": time.monotonic() - started}
    stages = getattr(predictor, "last_timings", None)
    if isinstance(stages, dict):
        timings.update({k: float(v) for k, v in stages.items()})
    if job.encode_s:
        timings["encode_s"] = job.encode_s
    return timings

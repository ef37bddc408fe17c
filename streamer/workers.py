"""The worker pool that turns queued frames into results.

Each worker thread builds its own predictor, and with it its own HTTP session:
``requests.Session`` is not documented as thread-safe, so none is ever shared.
A worker never dies of a failed request: every frame it takes leaves as a
result, ``ok``, ``failed`` (with the reason) or ``dropped`` (too old to send).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
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

#: How often an idle worker looks at the stop event.
POLL_S = 0.1


class PredictorLike(Protocol):
    """The part of a predictor's API the workers use."""

    def predict(self, image: Any) -> Sequence[Any]:
        """Return the predictions for one picture."""
        ...


class WorkerPool:
    """``count`` threads draining ``frames`` into ``results``.

    Args:
        frames: The queue to drain; workers end when it is closed and empty.
        make_predictor: Called once in each worker thread.
        results: Where every result goes.
        count: How many workers.
        max_frame_age_s: Frames older than this when taken are dropped unsent.
        abort: When set, workers stop after their current request.
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
        self._threads = [
            threading.Thread(target=self._run, name=f"worker-{i}", daemon=True)
            for i in range(count)
        ]

    def start(self) -> None:
        """Start every worker."""
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the workers to end; return True if they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    def _run(self) -> None:
        name = threading.current_thread().name
        try:
            predictor: PredictorLike | None = self._make_predictor()
            setup_error = None
        except Exception as exc:  # one clear reason on every frame this worker takes
            logger.error("%s could not create its predictor: %s", name, exc)
            predictor, setup_error = None, f"predictor could not be created: {exc}"
        while True:
            item = self._frames.get(timeout=POLL_S)
            if item is None:
                if self._frames.finished:
                    break
                continue
            frame, waited = item
            if self._abort.is_set():
                result = _dropped(
                    frame, "the run was aborted before the frame was sent"
                )
            elif predictor is None:
                result = Result(frame, Status.FAILED, error=setup_error, worker=name)
            else:
                result = self._process(predictor, frame, waited, name)
            self._results.put(result)

    def _process(
        self, predictor: PredictorLike, frame: Frame, waited: float, name: str
    ) -> Result:
        if frame.image is None:
            return Result(frame, Status.FAILED, error=frame.error, worker=name)
        age = time.monotonic() - frame.captured_at
        if self._max_age is not None and age > self._max_age:
            reason = f"stale: {age:.2f} s old, over the {self._max_age:.2f} s limit"
            return _dropped(frame, reason)

        started = time.monotonic()
        try:
            predictions = predictor.predict(frame.image)
        except FATAL_ERRORS as exc:
            self._on_fatal(str(exc))
            return self._failed(predictor, frame, started, waited, name, str(exc))
        except StreamerError as exc:
            return self._failed(predictor, frame, started, waited, name, str(exc))
        except Exception as exc:  # keep the worker alive, record the reason
            logger.exception("unexpected error predicting frame %d", frame.index)
            reason = f"{type(exc).__name__}: {exc}"
            return self._failed(predictor, frame, started, waited, name, reason)

        timings = _timings(predictor, started, waited)
        return Result(
            frame, Status.OK, tuple(predictions), timings=timings, worker=name
        )

    @staticmethod
    def _failed(
        predictor: PredictorLike,
        frame: Frame,
        started: float,
        waited: float,
        name: str,
        reason: str,
    ) -> Result:
        timings = _timings(predictor, started, waited)
        return Result(frame, Status.FAILED, error=reason, timings=timings, worker=name)


def _dropped(frame: Frame, reason: str) -> Result:
    return Result(frame, Status.DROPPED, error=reason)


def _timings(
    predictor: PredictorLike, started: float, waited: float
) -> dict[str, float]:
    timings = {"queue_s": waited, "predict_s": time.monotonic() - started}
    stages = getattr(predictor, "last_timings", None)
    if isinstance(stages, dict):
        timings.update({k: float(v) for k, v in stages.items()})
    return timings

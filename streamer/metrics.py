"""Run-wide counters and gauges, in Prometheus form and as a status snapshot.

Each run owns a ``RunMetrics`` with its own ``CollectorRegistry`` (never the
process-global one), so two runs in one process do not mix their figures.
``prometheus_client`` metrics are thread-safe and cost a lock and an addition
per update, which is cheap next to a frame. Gauges that describe other parts
(queue depth, source state) are read through callables at scrape time, so the
pipeline pays nothing for them per frame.

Metric names (all prefixed ``streamer_``) are listed in ``docs/outputs.md``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from streamer.frames import Result, Status

__all__ = ["CONTENT_TYPE_LATEST", "SOURCE_STATES", "RunMetrics", "drop_class"]

#: States a source can report; unknown ones are shown as ``other``.
SOURCE_STATES = (
    "connecting",
    "streaming",
    "reconnecting",
    "stopped",
    "ended",
    "failed",
    "other",
)
#: Seconds without a delivered frame after which the rate reads 0.
STALE_AFTER_S = 2.0
#: Classes of drop reasons (see ``drop_class``).
DROP_CLASSES = ("queue_full", "superseded", "stale", "aborted", "other")
#: Buckets for per-stage latencies, in seconds (1 ms to 10 s).
STAGE_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def drop_class(reason: str | None) -> str:
    """Classify a drop reason as one of ``DROP_CLASSES``."""
    text = (reason or "").lower()
    if "queue full" in text:
        return "queue_full"
    if text.startswith("stale"):
        return "stale"
    if text.startswith("superseded"):
        return "superseded"
    if "abort" in text:
        return "aborted"
    return "other"


class RunMetrics:
    """What a run has done so far, safe to update and read from any thread."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._counts = {"produced": 0, "ok": 0, "failed": 0, "dropped": 0}
        self._fps = 0.0
        self._lag_s = 0.0
        self._delivered_at: float | None = None
        self._last_index: int | None = None
        self._queue_depth: Callable[[], int] = lambda: 0
        self._source_state: Callable[[], str] = lambda: "connecting"
        self._outcome: str | None = None
        self._make_metrics()

    def _make_metrics(self) -> None:
        reg = self.registry
        self.produced = Counter(
            "streamer_frames_produced", "Frames read from the source.", registry=reg
        )
        self.frames = Counter(
            "streamer_frames",
            "Frames that left the pipeline, by status.",
            ["status"],
            registry=reg,
        )
        self.drops = Counter(
            "streamer_frames_dropped_by_reason",
            "Dropped frames by reason class.",
            ["reason"],
            registry=reg,
        )
        Gauge(
            "streamer_fps", "Frames delivered per second.", registry=reg
        ).set_function(lambda: self._live_figures()[0])
        Gauge(
            "streamer_lag_seconds",
            "Age of the newest delivered frame.",
            registry=reg,
        ).set_function(lambda: self._live_figures()[1])
        self.stages = Histogram(
            "streamer_stage_seconds",
            "Time spent in each stage per frame.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=reg,
        )
        Gauge(
            "streamer_queue_depth", "Frames waiting in the queue.", registry=reg
        ).set_function(lambda: self._queue_depth())
        Gauge(
            "streamer_in_flight", "Frames being predicted or reordered.", registry=reg
        ).set_function(self._in_flight)
        state = Gauge(
            "streamer_source_state",
            "1 for the source's current state.",
            ["state"],
            registry=reg,
        )
        for name in SOURCE_STATES:
            state.labels(name).set_function(self._state_is(name))
        self.sink_out = Counter(
            "streamer_sink_messages",
            "Messages and files sinks sent or dropped.",
            ["sink", "result"],
            registry=reg,
        )
        for status in Status:
            self.frames.labels(status.value)
        for reason in DROP_CLASSES:
            self.drops.labels(reason)

    def watch(
        self,
        *,
        queue_depth: Callable[[], int] | None = None,
        source_state: Callable[[], str] | None = None,
    ) -> None:
        """Read the queue depth and source state from these callables on demand."""
        if queue_depth is not None:
            self._queue_depth = queue_depth
        if source_state is not None:
            self._source_state = source_state

    def frame_produced(self) -> None:
        """Count one frame read from the source."""
        with self._lock:
            self._counts["produced"] += 1
        self.produced.inc()

    def frame_delivered(self, result: Result, fps: float, lag_s: float) -> None:
        """Count one frame that left the pipeline, with the live rate and lag."""
        status = result.status.value
        with self._lock:
            self._counts[status] += 1
            self._last_index = result.frame.index
            if result.status is not Status.DROPPED:
                self._fps, self._lag_s = fps, lag_s
                self._delivered_at = time.monotonic()
        self.frames.labels(status).inc()
        if result.status is Status.DROPPED:
            self.drops.labels(drop_class(result.error)).inc()
            return
        for stage, seconds in result.timings.items():
            self.stages.labels(stage.removesuffix("_s")).observe(seconds)

    def frames_lost(self, count: int, reason: str) -> None:
        """Count frames dropped without a result (in flight at an abort)."""
        with self._lock:
            self._counts["dropped"] += count
        self.frames.labels(Status.DROPPED.value).inc(count)
        self.drops.labels(drop_class(reason)).inc(count)

    def sink_messages(self, sink: str, result: str, count: int = 1) -> None:
        """Count what a sink sent (``sent``) or had to give up (``dropped``)."""
        self.sink_out.labels(sink, result).inc(count)

    def finish(self, outcome: str) -> None:
        """Record how the run ended."""
        with self._lock:
            self._outcome = outcome

    def snapshot(self) -> dict[str, Any]:
        """The live figures as plain data (the preview's ``/status``)."""
        with self._lock:
            counts = dict(self._counts)
            figures: dict[str, Any] = {
                "last_index": self._last_index,
                "outcome": self._outcome,
            }
        fps, lag_s = self._live_figures()
        figures.update(fps=round(fps, 2), lag_s=round(lag_s, 3))
        return {
            **counts,
            **figures,
            "queue_depth": self._queue_depth(),
            "in_flight": self._in_flight(),
            "source_state": self.source_state(),
        }

    def _live_figures(self) -> tuple[float, float]:
        """Rate and lag now: when frames stop coming (a camera away), the rate
        falls to 0 and the lag keeps growing, instead of freezing."""
        with self._lock:
            fps, lag_s, at = self._fps, self._lag_s, self._delivered_at
        if at is None:
            return 0.0, 0.0
        quiet = time.monotonic() - at
        if quiet > STALE_AFTER_S:
            fps = 0.0
        return fps, lag_s + quiet

    def source_state(self) -> str:
        """The source's state, one of ``SOURCE_STATES``."""
        state = self._source_state()
        return state if state in SOURCE_STATES else "other"

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)

    def _in_flight(self) -> int:
        with self._lock:
            c = self._counts
            pending = c["produced"] - c["ok"] - c["failed"] - c["dropped"]
        return max(pending - self._queue_depth(), 0)

    def _state_is(self, name: str) -> Callable[[], float]:
        return lambda: 1.0 if self.source_state() == name else 0.0

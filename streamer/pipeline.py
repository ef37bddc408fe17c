"""Wiring a run together: source thread, queue, workers, reorder, overlay, sinks.

The source thread reads frames into the bounded queue; the workers turn them
into results; the calling thread puts results back in frame order, annotates
them and hands them to every sink. Every frame the source produces leaves the
pipeline exactly once, as ok, failed or dropped, and the counts are reconciled
in the summary.

The first SIGINT or SIGTERM stops the source and lets the queued frames finish
within ``pipeline.drain_timeout_s``; a second one aborts at once (queued frames
are dropped). Sinks are closed in both cases, so outputs stay valid.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import queue
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from streamer.config import Config
from streamer.exceptions import StreamerError
from streamer.frames import Frame, Result, Status
from streamer.inference import InferenceTarget
from streamer.metrics import RunMetrics
from streamer.overlay import Annotator, Hud
from streamer.queueing import FrameQueue, QueueClosed, QueuePolicy
from streamer.reorder import Reorderer
from streamer.sinks import Sink, build_sink
from streamer.sources import Source, SourceInfo, open_source
from streamer.workers import ABORTED, WorkerPool

logger = logging.getLogger(__name__)

#: After an abort, how long in-flight requests may take before their frames are
#: counted as dropped.
ABORT_GRACE_S = 2.0
POLL_S = 0.1


class Outcome(str, enum.Enum):
    """How a run ended."""

    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    ABORTED = "aborted"
    SOURCE_FAILED = "source_failed"
    FAILED = "failed"


@dataclass
class Summary:
    """The reconciled counts and figures of a run."""

    produced: int = 0
    ok: int = 0
    failed: int = 0
    dropped: int = 0
    elapsed_s: float = 0.0
    outcome: Outcome = Outcome.COMPLETED
    error: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    stage_totals: Counter[str] = field(default_factory=Counter)

    @property
    def fps(self) -> float:
        """Frames that left the pipeline per second of the run."""
        return (
            (self.ok + self.failed + self.dropped) / self.elapsed_s
            if self.elapsed_s
            else 0.0
        )

    @property
    def reconciled(self) -> bool:
        """True when every produced frame is accounted for."""
        return self.produced == self.ok + self.failed + self.dropped

    def count(self, result: Result) -> None:
        """Add one result to the counts."""
        setattr(self, result.status.value, getattr(self, result.status.value) + 1)
        if result.error:
            self.reasons[_reason_key(result.error)] += 1
        self.stage_totals.update(result.timings)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the summary file and the metrics."""
        done = max(self.ok + self.failed, 1)
        return {
            "outcome": self.outcome.value,
            "error": self.error,
            "produced": self.produced,
            "ok": self.ok,
            "failed": self.failed,
            "dropped": self.dropped,
            "reconciled": self.reconciled,
            "elapsed_s": round(self.elapsed_s, 3),
            "fps": round(self.fps, 2),
            "reasons": dict(self.reasons.most_common(10)),
            "mean_stage_s": {
                k: round(v / done, 6) for k, v in self.stage_totals.items()
            },
        }

    def line(self) -> str:
        """The one-line closing summary."""
        text = (
            f"{self.outcome.value}: {self.produced} frames produced = {self.ok} ok + "
            f"{self.failed} failed + {self.dropped} dropped in {self.elapsed_s:.1f} s "
            f"({self.fps:.1f} fps)"
        )
        if not self.reconciled:
            text += " [counts do not reconcile]"
        if self.error:
            text += f"; {self.error}"
        return text


def _reason_key(error: str) -> str:
    return error if len(error) <= 120 else error[:117] + "..."


class _Rate:
    """Frames per second over the last few seconds."""

    def __init__(self, window_s: float = 3.0) -> None:
        self._window = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float) -> float:
        self._times.append(now)
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
        span = now - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class Pipeline:
    """One run of a config. Call ``run`` once, from any thread.

    Args:
        config: The run's settings.
        source: A source to use instead of the one ``config.source`` describes.
        sinks: Sink objects to deliver to, besides those in ``config.sinks``.
    """

    def __init__(
        self,
        config: Config,
        *,
        source: Source | None = None,
        sinks: Sequence[Sink] | None = None,
    ) -> None:
        self.config = config
        self.stop_event = threading.Event()
        self.abort_event = threading.Event()
        self.summary = Summary()
        self._source = source or open_source(config.source)
        self._sinks: list[Sink] = [build_sink(s) for s in config.sinks]
        self._sinks.extend(sinks or ())
        self._annotator = Annotator(config.overlay)
        self._reorder = Reorderer()
        # Frames between the source and the sinks are limited, so a slow stage
        # (or one slow request that holds up reordering) bounds memory instead
        # of letting frames pile up.
        cfg = config.pipeline
        self.max_in_flight = cfg.queue_size + 2 * cfg.workers
        self._permits = threading.Semaphore(self.max_in_flight)
        self._results: queue.Queue[Result] = queue.Queue()
        self._accounted = 0
        self._fatal_lock = threading.Lock()
        self._source_done = threading.Event()
        self._produced = 0
        self._rate = _Rate()
        self._hud = Hud(0.0, 0.0, 0, 0, 0)
        self._source_status = "connecting"
        self.metrics = RunMetrics()
        self.metrics.watch(source_state=self._source_state)

    @property
    def sinks(self) -> tuple[Any, ...]:
        """The run's sinks, in delivery order."""
        return tuple(self._sinks)

    def request_stop(self) -> None:
        """Stop reading and finish what is queued (as on the first Ctrl-C)."""
        if not self.stop_event.is_set():
            logger.info("stopping: finishing queued frames")
        self.stop_event.set()
        cancel_open = getattr(self._source, "cancel_open", None)
        if callable(cancel_open):
            cancel_open()  # a camera still offline at start stops waiting

    def request_abort(self) -> None:
        """Stop at once, dropping queued frames (as on a second Ctrl-C)."""
        if not self.abort_event.is_set():
            logger.warning("aborting: queued frames are dropped")
        self.stop_event.set()
        self.abort_event.set()

    def run(self) -> Summary:
        """Run to the end of the source or until stopped; return the summary."""
        started = time.monotonic()
        target = InferenceTarget(self.config.predictor, self.stop_event)
        target.check_predictor(self.abort_event)
        with _SignalHandlers(self), target:
            info = self._source.open()
            self._source_status = "streaming"
            try:
                self._open_sinks(info)
                self._run_stages(target, info)
            finally:
                self._source.close()
                self.summary.elapsed_s = time.monotonic() - started
                self.metrics.finish(self.summary.outcome.value)
                self._close_sinks()
        return self.summary

    def _open_sinks(self, info: SourceInfo) -> None:
        for sink in self._sinks:
            if hasattr(sink, "attach"):
                sink.attach(self.metrics)
            sink.open(info)

    def _source_state(self) -> str:
        # Live sources track their own state (they reconnect) until the run ends.
        status = getattr(self._source, "status", None)
        if callable(status) and self._source_status == "streaming":
            return str(status().state.value)
        return self._source_status

    def _close_sinks(self) -> None:
        summary = self.summary.as_dict()
        for sink in self._sinks:
            try:
                if hasattr(sink, "write_summary"):
                    sink.write_summary(summary)
                sink.close()
            except Exception:
                logger.exception("could not close %s", type(sink).__name__)

    def _run_stages(self, target: InferenceTarget, info: SourceInfo) -> None:
        cfg = self.config.pipeline
        policy = QueuePolicy(cfg.policy or ("drop_oldest" if info.live else "block"))
        frames = FrameQueue(cfg.queue_size, policy)
        pool = WorkerPool(
            frames,
            target.predictor_factory(self.abort_event),
            self._results,
            count=cfg.workers,
            max_frame_age_s=self.config.source.max_frame_age_s,
            abort=self.abort_event,
            on_fatal=self._fatal,
        )
        pool.start()
        self.metrics.watch(queue_depth=frames.__len__)
        reader = threading.Thread(
            target=self._produce, args=(frames,), name="source", daemon=True
        )
        reader.start()
        total = None if info.live else info.frame_count
        bar = tqdm(
            total=total, unit="frame", disable=not cfg.progress, dynamic_ncols=True
        )
        # Log lines are written above the progress bar instead of through it.
        with logging_redirect_tqdm(loggers=[logging.getLogger()]), bar as progress:
            self._consume(frames, progress)
        reader.join(timeout=5.0)
        pool.join(timeout=ABORT_GRACE_S)

    def _produce(self, frames: FrameQueue) -> None:
        stream = iter(self._source.frames(self.stop_event))
        last_index = -1
        try:
            while self._take_permit():
                frame = next(stream, None)
                if frame is None:
                    self._permits.release()
                    break
                self._account_skipped(frame, last_index)
                last_index = frame.index
                self._issue(frame)
                self._enqueue(frames, frame)
            cut_short = getattr(self._source, "end_reason", None)
            if cut_short and not self.stop_event.is_set():
                self._source_failed(str(cut_short))
        except StreamerError as exc:
            self._source_failed(str(exc))
        except Exception as exc:
            logger.exception("source thread failed")
            self._source_failed(f"{type(exc).__name__}: {exc}")
        finally:
            failed = self.summary.outcome is Outcome.SOURCE_FAILED
            self._source_status = "failed" if failed else "ended"
            self._source_done.set()
            frames.close()

    def _issue(self, frame: Frame) -> None:
        self._reorder.issue(frame.index)
        self._produced += 1
        self.metrics.frame_produced()

    def _account_skipped(self, frame: Frame, last_index: int) -> None:
        """Count the frames a live source read but replaced before they were taken.

        A live source hands out only its newest frame, so its indices have gaps
        when the pipeline is slower than the camera; each missing frame leaves
        as dropped, so the counts still cover every frame the camera sent.
        """
        reason = "superseded: a newer frame arrived before it was taken"
        for index in range(last_index + 1, frame.index):
            if not self._take_permit():
                return
            skipped = Frame(
                index, frame.source_id, None, frame.captured_at, frame.wall_time
            )
            self._issue(skipped)
            self._results.put(Result(skipped, Status.DROPPED, error=reason))

    def _take_permit(self) -> bool:
        """Wait for room for one more frame in the pipeline; False once stopping.

        Frames are read only when there is room, so a slow stage holds the
        source back (and a live source hands out its newest frame when there is).
        """
        while not self.stop_event.is_set():
            if self._permits.acquire(timeout=POLL_S):
                return True
        return False

    def _enqueue(self, frames: FrameQueue, frame: Frame) -> None:
        try:
            dropped = frames.put(frame)
        except QueueClosed:
            dropped = [frame]
        for old in dropped:
            reason = (
                ABORTED
                if self.abort_event.is_set()
                else f"queue full ({frames.policy.value})"
            )
            self._results.put(_without_image(Result(old, Status.DROPPED, error=reason)))

    def _fatal(self, reason: str) -> None:
        """Stop the run on an error that every later frame would hit too."""
        with self._fatal_lock:
            if self.summary.outcome is Outcome.COMPLETED:
                logger.error("stopping the run: %s", reason)
                self.summary.outcome = Outcome.FAILED
                self.summary.error = reason
        self.request_abort()

    def _source_failed(self, message: str) -> None:
        logger.error("source %s failed: %s", self._source.name, message)
        self.summary.outcome = Outcome.SOURCE_FAILED
        self.summary.error = message

    def _consume(self, frames: FrameQueue, progress: tqdm[Any]) -> None:
        abort_deadline: float | None = None
        drain_deadline: float | None = None
        while True:
            if self._source_done.is_set() and self._accounted >= self._produced:
                break
            if self.abort_event.is_set():
                abort_deadline = abort_deadline or self._begin_abort(frames, progress)
                if time.monotonic() > abort_deadline:
                    break
            elif self.stop_event.is_set():
                drain_deadline = drain_deadline or (
                    time.monotonic() + self.config.pipeline.drain_timeout_s
                )
                if time.monotonic() > drain_deadline:
                    logger.warning("queued frames did not finish in time; aborting")
                    self.request_abort()
            try:
                result = self._results.get(timeout=POLL_S)
            except queue.Empty:
                continue
            self._accept(result, progress)
        self._finish()

    def _accept(self, result: Result, progress: tqdm[Any] | None) -> None:
        self._accounted += 1
        for ready in self._reorder.push(result):
            self._deliver(ready, progress)

    def _begin_abort(self, frames: FrameQueue, progress: tqdm[Any]) -> float:
        for frame in frames.drain():
            self._accept(Result(frame, Status.DROPPED, error=ABORTED), progress)
        return time.monotonic() + ABORT_GRACE_S

    def _finish(self) -> None:
        while True:
            try:
                self._accept(self._results.get_nowait(), None)
            except queue.Empty:
                break
        for ready in self._reorder.flush():
            self._deliver(ready, None)
        self.summary.produced = self._produced
        missing = self._produced - self._accounted
        if missing > 0:
            # Requests still in flight after the abort grace period.
            self.summary.dropped += missing
            self.summary.reasons["in flight when the run was aborted"] += missing
            self.metrics.frames_lost(missing, "aborted while in flight")
        if self.summary.outcome is Outcome.COMPLETED and self.stop_event.is_set():
            aborted = self.abort_event.is_set()
            self.summary.outcome = Outcome.ABORTED if aborted else Outcome.INTERRUPTED

    def _deliver(self, result: Result, progress: tqdm[Any] | None) -> None:
        try:
            self._write(result, progress)
        finally:
            self._permits.release()

    def _write(self, result: Result, progress: tqdm[Any] | None) -> None:
        self.summary.count(result)
        now = time.monotonic()
        if result.status is not Status.DROPPED:
            fps = self._rate.tick(now)
            self._hud = Hud(
                fps,
                now - result.frame.captured_at,
                self.summary.ok,
                self.summary.failed,
                self.summary.dropped,
            )
        self.metrics.frame_delivered(result, self._hud.fps, self._hud.lag_s)
        annotated = None
        if (
            any(s.needs_image for s in self._sinks)
            and result.status is not Status.DROPPED
        ):
            annotated = self._annotator.draw(result, self._hud)
        for sink in self._sinks:
            sink.write(result, annotated)
        if progress is not None:
            progress.update(1)
            if self._accounted % 25 == 0 or result.status is not Status.OK:
                progress.set_postfix(
                    ok=self.summary.ok,
                    failed=self.summary.failed,
                    dropped=self.summary.dropped,
                    refresh=False,
                )


def _without_image(result: Result) -> Result:
    """A dropped result keeps its frame's facts but not its picture."""
    frame = dataclasses.replace(result.frame, image=None)
    return dataclasses.replace(result, frame=frame)


class _SignalHandlers:
    """SIGINT/SIGTERM: first stops the run, second aborts it (main thread only)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalHandlers:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._pipeline.stop_event.is_set():
            self._pipeline.request_abort()
        else:
            self._pipeline.request_stop()

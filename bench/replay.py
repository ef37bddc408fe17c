"""Replay throughput: the pipeline, the original SDK and their ceilings.

For each clip and each null-server delay, one server runs and every
measurement of that delay is taken against it, one after another: the
pipeline with and without sinks, the original SDK's ``FrameSet.run_predict``
with the same number of workers, and its plain ``EdgePredictor`` loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from bench.capacity import post_load
from bench.harness import OUT, BoundedSource, decode_rate, pipeline_config, run_pipeline
from bench.original import original_fps
from streamer.frames import Image, Result
from streamer.server import EmbeddedServer
from streamer.sources import SourceInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    """A source clip and how many frames each measurement may take from it."""

    name: str
    path: Path
    frames: int
    max_s: float


@dataclass
class Cell:
    """Figures for one clip, delay and worker count."""

    workers: int
    fps: float
    fps_sinks: float
    frameset_fps: float
    capacity: float
    steady_fps: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)
    stages_sinks_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Series:
    """All worker counts of one clip at one delay."""

    clip: str
    delay_ms: int
    decode_fps: float
    plain_loop_fps: float
    cells: list[Cell] = field(default_factory=list)
    raw_clients_8: float = 0.0


def run(
    clips: Sequence[Clip], delays: Sequence[int], workers: Sequence[int]
) -> list[Series]:
    """Measure every clip, delay and worker count; return the series."""
    results = []
    for clip in clips:
        decode = decode_rate(clip.path, max(clip.frames, 200), clip.max_s)
        logger.info("%s decodes at %.0f fps", clip.name, decode)
        payload = _payload(clip.path)
        for delay in delays:
            series = _series(clip, delay, workers, decode, payload)
            results.append(series)
    return results


def _series(
    clip: Clip, delay: int, workers: Sequence[int], decode: float, payload: bytes
) -> Series:
    with EmbeddedServer("null", delay_ms=delay) as server:
        plain = original_fps("loop", server.port, clip.path, clip.frames, clip.max_s)
        series = Series(clip.name, delay, decode, plain)
        for count in workers:
            capacity = (
                count / (delay / 1000)
                if delay
                else _server_rate(server.url, payload, count, clip)
            )
            cell = _cell(clip, server.port, count, capacity)
            logger.info(
                "%s delay %d ms, %d workers: %.1f fps (%.1f with sinks), "
                "frameset %.1f, capacity %.0f",
                clip.name,
                delay,
                count,
                cell.fps,
                cell.fps_sinks,
                cell.frameset_fps,
                capacity,
            )
            series.cells.append(cell)
        series.raw_clients_8 = _server_rate(server.url, payload, 8, clip)
    return series


def _cell(clip: Clip, port: int, workers: int, capacity: float) -> Cell:
    clock = DeliveryClock()
    bare = _pipeline(clip, port, workers, with_sinks=False, clock=clock)
    sinks = _pipeline(clip, port, workers, with_sinks=True)
    frameset = original_fps(
        "frameset", port, clip.path, clip.frames, clip.max_s, workers
    )
    return Cell(
        workers,
        bare[0],
        sinks[0],
        frameset,
        capacity,
        clock.rate,
        bare[1],
        sinks[1],
    )


def _pipeline(
    clip: Clip,
    port: int,
    workers: int,
    *,
    with_sinks: bool,
    clock: DeliveryClock | None = None,
) -> tuple[float, dict[str, float]]:
    stem = OUT / "replay" / f"{clip.name}-w{workers}"
    sinks = (
        [
            {"kind": "video", "path": f"{stem}.mp4"},
            {"kind": "jsonl", "path": f"{stem}.jsonl"},
        ]
        if with_sinks
        else []
    )
    source = BoundedSource(clip.path, max_frames=clip.frames, max_s=clip.max_s)
    yaml_text = pipeline_config(port, workers=workers, sinks=sinks)
    summary = run_pipeline(yaml_text, source, [clock] if clock else [])
    done = max(summary.ok + summary.failed, 1)
    stages = {k: 1000 * v / done for k, v in summary.stage_totals.items()}
    if summary.failed or not summary.reconciled:
        logger.warning("%s: %s", clip.name, summary.line())
    return summary.fps, stages


class DeliveryClock:
    """A sink that notes when the first and the last frame arrive."""

    needs_image = False

    def __init__(self) -> None:
        self.first = self.last = 0.0
        self.count = 0

    def open(self, info: SourceInfo) -> None:
        """Nothing to prepare."""

    def write(self, result: Result, annotated: Image | None) -> None:
        """Note the time."""
        self.last = time.perf_counter()
        if not self.count:
            self.first = self.last
        self.count += 1

    def close(self) -> None:
        """Nothing to release."""

    @property
    def rate(self) -> float:
        """Frames a second between the first and the last delivery."""
        span = self.last - self.first
        return (self.count - 1) / span if span > 0 else 0.0


def _server_rate(url: str, payload: bytes, clients: int, clip: Clip) -> float:
    """The server's rate with ``clients`` bare parallel posters (no pipeline)."""
    load = post_load(
        f"{url}/images",
        payload,
        clients=clients,
        per_client=max(clip.frames // clients, 25),
        max_s=min(clip.max_s, 4.0),
    )
    return load.rate


def _payload(path: Path) -> bytes:
    capture = cv2.VideoCapture(str(path))
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot read a frame of {path}")
    encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
    return bytes(encoded.tobytes())

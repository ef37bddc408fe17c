"""``streamer probe``: what a source is, measured rather than believed.

Opens a source the way a run would, times the first frame, then reads for a
while (a file to its end, a live source for a few seconds) to compare what the
container claims with what decodes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from streamer.config import SourceConfig
from streamer.exceptions import SourceError
from streamer.sources import (
    FileSource,
    FolderSource,
    LiveSource,
    Source,
    SourceInfo,
    WebcamSource,
    open_source,
)

logger = logging.getLogger(__name__)

LIVE_SECONDS = 3.0
MAX_FILE_SECONDS = 60.0


@dataclass
class ProbeReport:
    """What ``probe`` found out about a source."""

    name: str
    kind: str
    info: SourceInfo
    first_frame_s: float | None
    decoded: int = 0
    failed: int = 0
    measured_fps: float | None = None
    claimed_fps: float | None = None
    rotation: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as ``key: value`` lines."""
        info = self.info
        rows = [
            ("source", self.name),
            ("kind", self.kind),
            ("size", f"{info.width}x{info.height}" if info.width else "unknown"),
            ("fps claimed", _num(self.claimed_fps)),
            ("fps used", _num(info.fps)),
            ("fps measured", _num(self.measured_fps)),
            ("codec", info.codec or "unknown"),
            ("frames claimed", _num(info.frame_count)),
            ("frames decoded", str(self.decoded)),
            ("frames failed", str(self.failed)),
            ("rotation", f"{self.rotation} degrees (applied)"),
            ("first frame after", _secs(self.first_frame_s)),
        ]
        rows += [("note", note) for note in self.notes]
        return [f"{key}: {value}" for key, value in rows]


def probe(config: SourceConfig, live_seconds: float = LIVE_SECONDS) -> ProbeReport:
    """Open and read a source; raise ``SourceError`` if it cannot be read."""
    source = open_source(config)
    started = time.monotonic()
    try:
        info = source.open()
        report = ProbeReport(source.name, _kind(source), info, None)
        _read(source, report, live_seconds, started)
        _add_facts(source, report)
    finally:
        source.close()
    return report


def _read(
    source: Source, report: ProbeReport, live_seconds: float, started: float
) -> None:
    stop = threading.Event()
    limit = live_seconds if report.info.live else MAX_FILE_SECONDS
    timer = threading.Timer(limit, stop.set)
    timer.daemon = True
    timer.start()
    first_at: float | None = None
    times: list[float] = []
    try:
        for frame in source.frames(stop):
            first_at = first_at or frame.captured_at
            report.decoded += frame.image is not None
            report.failed += frame.image is None
            media = frame.media_time
            times.append(media if media is not None else frame.captured_at)
    finally:
        timer.cancel()
    if first_at is not None:
        report.first_frame_s = first_at - started
    if len(times) > 1 and times[-1] > times[0]:
        report.measured_fps = (len(times) - 1) / (times[-1] - times[0])


def _add_facts(source: Source, report: ProbeReport) -> None:
    if isinstance(source, FileSource) and source.facts is not None:
        report.claimed_fps = source.facts.claimed_fps
        report.rotation = source.facts.rotation
        if source.end_reason:
            report.notes.append(source.end_reason)
    if isinstance(source, LiveSource):
        report.claimed_fps = source.reported_fps
        status = source.status()
        if report.decoded == 0:
            raise SourceError(
                f"no frame from {source.name}: {status.last_error or 'it sent nothing'}"
            )
        if status.last_error:
            report.notes.append(f"last error: {status.last_error}")


def _kind(source: Source) -> str:
    if isinstance(source, FileSource):
        return "file"
    if isinstance(source, FolderSource):
        return "folder"
    return "webcam" if isinstance(source, WebcamSource) else "stream"


def _num(value: float | int | None) -> str:
    if value is None or value == 0:
        return "unknown"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _secs(value: float | None) -> str:
    return "no frame" if value is None else f"{value:.2f} s"

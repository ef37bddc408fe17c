"""JPEG snapshots of frames where a label was seen, at most one per interval.

A frame matches when it is ``ok`` and holds at least ``min_count`` predictions
of ``label`` scoring at least ``min_score``. After a snapshot, matches are
ignored for ``min_interval_s`` of the frames' own time (media time when the
source has it, else capture time), so a replay faster than real time keeps the
same spacing as a live run. Files are named ``<index>_<seconds>s.jpg`` (and
``<index>_<seconds>s_raw.jpg`` for the raw frame), written under a temporary
name and renamed, so a half-written file never shows.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2

from streamer.config import SnapshotsSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Image, Result, Status
from streamer.metrics import RunMetrics
from streamer.sources.base import SourceInfo

logger = logging.getLogger(__name__)


class SnapshotsSink:
    """Saves annotated (and optionally raw) JPEGs of matching frames."""

    needs_image = True

    def __init__(self, config: SnapshotsSinkConfig) -> None:
        self.config = config
        self.dir = Path(config.dir)
        self.saved: list[Path] = []
        self._last_time: float | None = None
        self._first_capture: float | None = None
        self._metrics: RunMetrics | None = None

    def attach(self, metrics: RunMetrics) -> None:
        """Count saved snapshots in the run's metrics."""
        self._metrics = metrics

    def open(self, info: SourceInfo) -> None:
        """Create the folder."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(
                f"cannot create snapshot folder {self.dir}: {exc.strerror}; check "
                "that its parent is writable"
            ) from exc

    def matches(self, result: Result) -> bool:
        """True when the result satisfies the label, score and count rule."""
        if result.status is not Status.OK:
            return False
        cfg = self.config
        hits = [
            p
            for p in result.predictions
            if getattr(p, "label_name", None) == cfg.label and p.score >= cfg.min_score
        ]
        return len(hits) >= cfg.min_count

    def write(self, result: Result, annotated: Image | None) -> None:
        """Save the frame if it matches and the interval has passed."""
        if not self.matches(result):
            return
        seconds = self._frame_time(result)
        last = self._last_time
        if last is not None and seconds - last < self.config.min_interval_s:
            return
        image = annotated if annotated is not None else result.frame.image
        if image is None:
            return
        self._last_time = seconds
        stem = f"{result.frame.index:08d}_{seconds:.3f}s"
        self._save(self.dir / f"{stem}.jpg", image)
        if self.config.raw and result.frame.image is not None:
            self._save(self.dir / f"{stem}_raw.jpg", result.frame.image)

    def close(self) -> None:
        """Nothing is held open; log what was saved."""
        if self.saved:
            logger.info("saved %d snapshots in %s", len(self.saved), self.dir)

    def _frame_time(self, result: Result) -> float:
        frame = result.frame
        if frame.media_time is not None:
            return frame.media_time
        if self._first_capture is None:
            self._first_capture = frame.captured_at
        return frame.captured_at - self._first_capture

    def _save(self, path: Path, image: Image) -> None:
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        ok, data = cv2.imencode(".jpg", image, params=quality)
        tmp = path.with_suffix(".tmp")
        try:
            if not ok:
                raise OSError(0, "JPEG encoding failed")
            tmp.write_bytes(data.tobytes())
            os.replace(tmp, path)
        except OSError as exc:
            logger.warning("could not save snapshot %s: %s", path, exc)
            return
        self.saved.append(path)
        if self._metrics is not None:
            self._metrics.sink_messages("snapshots", "sent")

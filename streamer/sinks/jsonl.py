"""Per-frame JSON records, one a line, and a summary beside them."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import IO, Any

from streamer.config import JsonlSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Image, Result
from streamer.records import frame_record
from streamer.sources.base import SourceInfo

logger = logging.getLogger(__name__)

#: Longest time a written record waits in the buffer, for slow live sources.
FLUSH_INTERVAL_S = 1.0


def summary_path(path: Path) -> Path:
    """Where the run's summary is written beside a JSONL file."""
    return path.with_name(path.stem + ".summary.json")


class JsonlSink:
    """Writes a record for every frame, ``ok``, ``failed`` and ``dropped`` alike.

    Lines are flushed every ``flush_every`` records, at least every
    ``FLUSH_INTERVAL_S`` while records arrive, and at the end, so a killed run
    keeps all but its last few records. The run's summary is written to
    ``<name>.summary.json`` beside the file.
    """

    needs_image = False

    def __init__(self, config: JsonlSinkConfig) -> None:
        self.config = config
        self.path = Path(config.path)
        self.records_written = 0
        self._file: IO[str] | None = None
        self._flushed_at = time.monotonic()

    def open(self, info: SourceInfo) -> None:
        """Create (or truncate) the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise SinkError(
                f"cannot create records file {self.path}: {exc.strerror}; check that "
                "its folder is writable"
            ) from exc

    def write(self, result: Result, annotated: Image | None) -> None:
        """Append the frame's record."""
        if self._file is None:
            return
        self._file.write(json.dumps(frame_record(result), separators=(",", ":")) + "\n")
        self.records_written += 1
        now = time.monotonic()
        due = now - self._flushed_at >= FLUSH_INTERVAL_S
        if due or self.records_written % self.config.flush_every == 0:
            self._file.flush()
            self._flushed_at = now

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write the run's summary beside the records."""
        summary_path(self.path).write_text(json.dumps(summary, indent=2) + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
            logger.info("wrote %d records to %s", self.records_written, self.path)

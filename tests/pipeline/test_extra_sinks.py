"""Sinks handed to the pipeline directly get every result, in order."""

from __future__ import annotations

from pathlib import Path

from streamer.config import parse_config
from streamer.frames import Image, Result
from streamer.pipeline import Pipeline
from streamer.server import EmbeddedServer
from streamer.sources import SourceInfo


class Collect:
    """Keeps the index and status of every result."""

    needs_image = False

    def __init__(self) -> None:
        self.opened: SourceInfo | None = None
        self.seen: list[tuple[int, str]] = []
        self.closed = False

    def open(self, info: SourceInfo) -> None:
        self.opened = info

    def write(self, result: Result, annotated: Image | None) -> None:
        self.seen.append((result.frame.index, result.status.value))

    def close(self) -> None:
        self.closed = True


def test_extra_sink_sees_every_frame_in_order(short_clip: Path) -> None:
    # Given a pipeline with one sink from the caller besides the config's none
    sink = Collect()
    with EmbeddedServer("null") as server:
        config = parse_config(
            f"source: {{url: '{short_clip}'}}\n"
            f"predictor: {{host: 127.0.0.1, port: {server.port}}}\n"
            "pipeline: {workers: 3, progress: false}\n"
        )

        # When it runs to the end of the clip
        summary = Pipeline(config, sinks=[sink]).run()

    # Then the sink was opened, got all 60 frames in order, and was closed
    assert summary.reconciled and summary.ok == 60
    assert sink.opened is not None and sink.closed
    assert sink.seen == [(i, "ok") for i in range(60)]

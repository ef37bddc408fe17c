"""A slow output holds the pipeline back instead of piling up frames in memory."""

from __future__ import annotations

import time
from pathlib import Path

from streamer.config import parse_config
from streamer.frames import Image, Result
from streamer.pipeline import Pipeline
from streamer.sources.base import SourceInfo
from tests.fault_server import FaultServer


class SlowSink:
    """Records how many frames were in the pipeline at each delivery."""

    needs_image = True

    def __init__(self, pipeline_ref: list[Pipeline]) -> None:
        self.pipeline_ref = pipeline_ref
        self.in_flight: list[int] = []
        self.indices: list[int] = []

    def open(self, info: SourceInfo) -> None:
        return

    def write(self, result: Result, annotated: Image | None) -> None:
        pipeline = self.pipeline_ref[0]
        self.in_flight.append(pipeline._produced - len(self.indices))
        self.indices.append(result.frame.index)
        time.sleep(0.02)

    def close(self) -> None:
        return


def test_slow_sink_bounds_frames_in_flight(short_clip: Path) -> None:
    with FaultServer(fault_rate=0.0) as server:
        config = parse_config(
            f"source: {{url: '{short_clip}'}}\n"
            f"predictor: {{host: 127.0.0.1, port: {server.port}}}\n"
            "pipeline: {workers: 4, queue_size: 4, progress: false}\n"
        )
        ref: list[Pipeline] = []
        sink = SlowSink(ref)
        pipeline = Pipeline(config, sinks=[sink])
        ref.append(pipeline)
        summary = pipeline.run()

    assert summary.ok == 60
    assert sink.indices == list(range(60))
    assert pipeline.max_in_flight == 4 + 2 * 4
    assert max(sink.in_flight) <= pipeline.max_in_flight

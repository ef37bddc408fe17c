"""Frames a live source replaced before they were taken are counted as dropped."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from streamer.config import parse_config
from streamer.frames import Frame
from streamer.pipeline import Pipeline
from streamer.sources.base import SourceInfo
from tests.fault_server import FaultServer


class GappySource:
    """A live source whose indices skip, as a camera's do when frames are replaced."""

    name = "camera"

    def __init__(self, indices: list[int]) -> None:
        self.indices = indices

    def open(self) -> SourceInfo:
        return SourceInfo(32, 24, 25.0, live=True)

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        for index in self.indices:
            image = np.full((24, 32, 3), index, dtype=np.uint8)
            yield Frame(index, self.name, image, time.monotonic(), time.time())

    def close(self) -> None:
        return


def test_gaps_in_live_indices_become_superseded_drops(tmp_path: Path) -> None:
    indices = [3, 4, 9, 10, 11, 20]
    with FaultServer(fault_rate=0.0) as server:
        config = parse_config(
            "source: {url: rtsp://127.0.0.1/unused}\n"
            f"predictor: {{host: 127.0.0.1, port: {server.port}}}\n"
            "pipeline: {workers: 2, queue_size: 2, progress: false}\n"
            f"sinks: [{{kind: jsonl, path: '{tmp_path / 'r.jsonl'}'}}]\n"
        )
        summary = Pipeline(config, source=GappySource(indices)).run()

    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["index"] for r in records] == list(range(21))
    assert summary.produced == 21 and summary.reconciled
    assert (
        summary.reasons["superseded: a newer frame arrived before it was taken"] == 15
    )
    taken = [r for r in records if r["index"] in indices]
    assert all(r["status"] == "ok" or "queue full" in r["error"] for r in taken)
    skipped = [r for r in records if r["index"] not in indices]
    assert all(r["status"] == "dropped" for r in skipped)
    assert all(r["error"].startswith("superseded") for r in skipped)

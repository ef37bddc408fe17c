"""Outputs: annotated video, per-frame records and more."""

from __future__ import annotations

from typing import Any, Protocol

from streamer.config import (
    JsonlSinkConfig,
    MqttSinkConfig,
    PreviewSinkConfig,
    SinkConfig,
    SnapshotsSinkConfig,
    VideoSinkConfig,
    WindowSinkConfig,
)
from streamer.frames import Image, Result
from streamer.sinks.jsonl import JsonlSink
from streamer.sinks.mqtt import MqttSink
from streamer.sinks.preview import PreviewSink
from streamer.sinks.snapshots import SnapshotsSink
from streamer.sinks.video import VideoSink
from streamer.sinks.window import WindowSink
from streamer.sources.base import SourceInfo

__all__ = [
    "JsonlSink",
    "MqttSink",
    "PreviewSink",
    "Sink",
    "SnapshotsSink",
    "VideoSink",
    "WindowSink",
    "build_sink",
]

_BUILDERS: dict[type[Any], type[Any]] = {
    VideoSinkConfig: VideoSink,
    JsonlSinkConfig: JsonlSink,
    PreviewSinkConfig: PreviewSink,
    MqttSinkConfig: MqttSink,
    SnapshotsSinkConfig: SnapshotsSink,
    WindowSinkConfig: WindowSink,
}


class Sink(Protocol):
    """An output. ``write`` is called in frame order from one thread.

    A sink may also define ``attach(metrics)``, called before ``open`` with the
    run's ``RunMetrics`` (live counts, source state, Prometheus registry), and
    ``write_summary(summary)``, called before ``close``.
    """

    needs_image: bool

    def open(self, info: SourceInfo) -> None:
        """Prepare the output; raise ``SinkError`` if it cannot be."""
        ...

    def write(self, result: Result, annotated: Image | None) -> None:
        """Deliver one result, with its annotated picture when there is one."""
        ...

    def close(self) -> None:
        """Flush and release the output; safe to call more than once."""
        ...


def build_sink(config: SinkConfig) -> Any:
    """Build the sink a config describes."""
    builder = _BUILDERS.get(type(config))
    if builder is not None:
        return builder(config)
    raise TypeError(f"unknown sink config {type(config).__name__}")

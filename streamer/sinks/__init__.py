"""Outputs: annotated video, per-frame records and more."""

from __future__ import annotations

from typing import Any, Protocol

from streamer.config import JsonlSinkConfig, SinkConfig, VideoSinkConfig
from streamer.frames import Image, Result
from streamer.sinks.jsonl import JsonlSink
from streamer.sinks.video import VideoSink
from streamer.sources.base import SourceInfo

__all__ = ["JsonlSink", "Sink", "VideoSink", "build_sink"]


class Sink(Protocol):
    """An output. ``write`` is called in frame order from one thread."""

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
    if isinstance(config, VideoSinkConfig):
        return VideoSink(config)
    if isinstance(config, JsonlSinkConfig):
        return JsonlSink(config)
    raise TypeError(f"unknown sink config {type(config).__name__}")

"""Frame sources: video files, image folders, streams and cameras."""

from __future__ import annotations

from streamer.config import SourceConfig
from streamer.exceptions import SourceError
from streamer.sources.base import Source, SourceInfo, to_bgr
from streamer.sources.file import FileSource

__all__ = ["FileSource", "Source", "SourceInfo", "open_source", "to_bgr"]


def open_source(config: SourceConfig) -> Source:
    """Build the source a config describes (not yet opened)."""
    url = config.url
    if isinstance(url, int):
        raise SourceError(f"webcam sources are not supported yet (source.url = {url})")
    return FileSource(url, max_fps=config.max_fps, realtime=config.realtime)

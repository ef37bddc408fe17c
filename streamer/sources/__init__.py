"""Frame sources: video files, image folders, streams and cameras.

``open_source`` picks one from the URL: a device index or ``/dev/videoN`` is a
webcam, ``rtsp://`` and ``http(s)://`` are streams, a directory or a glob
pattern is an image folder, anything else a video file.
"""

from __future__ import annotations

from streamer.config import SourceConfig
from streamer.sources.base import Source, SourceInfo, to_bgr
from streamer.sources.file import FileSource
from streamer.sources.folder import FolderSource, is_folder_source
from streamer.sources.live import (
    LiveSource,
    ReconnectPolicy,
    SourceState,
    SourceStatus,
    StatusCallback,
)
from streamer.sources.stream import StreamSource, is_stream_url
from streamer.sources.webcam import WebcamSource, is_webcam

__all__ = [
    "FileSource",
    "FolderSource",
    "LiveSource",
    "ReconnectPolicy",
    "Source",
    "SourceInfo",
    "SourceState",
    "SourceStatus",
    "StatusCallback",
    "StreamSource",
    "WebcamSource",
    "open_source",
    "to_bgr",
]


def open_source(
    config: SourceConfig, on_status: StatusCallback | None = None
) -> Source:
    """Build the source a config describes (not yet opened)."""
    url = config.url
    if is_webcam(url):
        return WebcamSource(
            url,
            _policy(config),
            width=config.width,
            height=config.height,
            fps=config.max_fps,
            on_status=on_status,
        )
    assert isinstance(url, str)
    if is_stream_url(url):
        return StreamSource(
            url,
            _policy(config),
            name=config.name,
            rtsp_transport=config.rtsp_transport,
            max_fps=config.max_fps,
            on_status=on_status,
        )
    recorded = FolderSource if is_folder_source(url) else FileSource
    return recorded(
        url,
        max_fps=config.max_fps,
        realtime=config.realtime,
        loop=config.loop,
        name=config.name,
    )


def _policy(config: SourceConfig) -> ReconnectPolicy:
    return ReconnectPolicy(
        open_timeout_s=config.open_timeout_s,
        read_timeout_s=config.read_timeout_s,
        max_backoff_s=config.reconnect_max_backoff_s,
        max_attempts=config.reconnect_max_attempts,
    )

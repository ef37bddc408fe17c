"""Annotated H.264 video that stays playable if the process dies.

The file is a fragmented MP4 (``empty_moov`` plus a fragment at every keyframe,
with a keyframe at least every second), so a killed process loses at most the
fragment being written; a plain MP4 written by other tools has no index until it
is closed and is unreadable after a crash. H.264 with 4:2:0 chroma needs even
width and height: odd sizes are padded with one black row or column. A frame of
another size than the first is scaled to the video's size, with a warning.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from streamer.config import VideoSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Image, Result, Status
from streamer.sources.base import SourceInfo

logger = logging.getLogger(__name__)

#: Presentation times are kept in milliseconds.
TIME_BASE = Fraction(1, 1000)
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


class VideoSink:
    """Writes annotated frames (``ok`` and ``failed``) to an H.264 MP4."""

    needs_image = True

    def __init__(self, config: VideoSinkConfig) -> None:
        self.config = config
        self.path = Path(config.path)
        self.frames_written = 0
        self._container: Any = None
        self._stream: Any = None
        self._size: tuple[int, int] | None = None
        self._last_pts = -1
        self._first_time: float | None = None
        self._fps = 25.0
        self._resized_warned = False

    def open(self, info: SourceInfo) -> None:
        """Create the file; the encoder opens at the first frame's size."""
        self._fps = self.config.fps or info.fps
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(
                str(self.path),
                mode="w",
                format="mp4",
                options={"movflags": MOVFLAGS, "flush_packets": "1"},
            )
        except (OSError, av.FFmpegError) as exc:
            raise SinkError(
                f"cannot create video file {self.path}: {exc}; check that its folder "
                "is writable"
            ) from exc

    def write(self, result: Result, annotated: Image | None) -> None:
        """Encode one frame; dropped frames and frames without a picture are skipped."""
        if result.status is Status.DROPPED:
            return
        image = annotated if annotated is not None else result.frame.image
        if image is None or self._container is None:
            return
        if self._stream is None:
            self._open_stream(image)
        frame = av.VideoFrame.from_ndarray(self._fit(image), format="bgr24")
        frame.pts = self._pts(result)
        frame.time_base = TIME_BASE
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def _open_stream(self, image: Image) -> None:
        height, width = image.shape[:2]
        self._size = (width + width % 2, height + height % 2)
        rate = Fraction(self._fps).limit_denominator(1001)
        stream = self._container.add_stream("libx264", rate=rate)
        stream.width, stream.height = self._size
        stream.pix_fmt = "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = {
            "crf": str(self.config.crf),
            "preset": self.config.preset,
            "g": str(max(int(round(self._fps)), 1)),
            # Without B-frames, presentation times equal decode times: a
            # fragmented MP4 has no edit list to undo B-frame delay, and frame
            # times from the source can be irregular.
            "bf": "0",
        }
        self._stream = stream
        if self._size != (width, height):
            logger.info(
                "padding %dx%d frames to %dx%d for H.264", width, height, *self._size
            )

    def _fit(self, image: Image) -> Image:
        assert self._size is not None
        width, height = self._size
        h, w = image.shape[:2]
        if (w, h) == (width, height):
            return image
        if (w + w % 2, h + h % 2) == (width, height):
            return np.pad(image, ((0, height - h), (0, width - w), (0, 0)))
        if not self._resized_warned:
            logger.warning(
                "frame size changed from %dx%d to %dx%d; scaling to the video's size",
                width,
                height,
                w,
                h,
            )
            self._resized_warned = True
        return cv2.resize(image, dsize=(width, height), interpolation=cv2.INTER_AREA)

    def _pts(self, result: Result) -> int:
        frame = result.frame
        seconds = frame.media_time
        if seconds is None:
            if self._first_time is None:
                self._first_time = frame.captured_at
            seconds = frame.captured_at - self._first_time
        pts = int(round(seconds * 1000))
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        if self._container is None:
            return
        try:
            if self._stream is not None:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None
        logger.info("wrote %d frames to %s", self.frames_written, self.path)

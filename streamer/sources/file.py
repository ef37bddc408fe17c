"""Video files read with OpenCV's FFmpeg backend."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2

from streamer.exceptions import SourceError
from streamer.frames import Frame
from streamer.sources.base import SourceInfo, to_bgr

logger = logging.getLogger(__name__)

#: Containers sometimes claim absurd rates (2000 fps for MPEG-TS, 180000 for some
#: cameras); outside this range the claim is ignored.
PLAUSIBLE_FPS = (1.0, 240.0)
FALLBACK_FPS = 25.0


class FileSource:
    """Every frame of a video file, in order.

    Args:
        path: The video file.
        max_fps: Keep at most this many frames a second of media time.
        realtime: Pace frames at their media time, as a live camera would.
    """

    def __init__(
        self, path: str, *, max_fps: float | None = None, realtime: bool = False
    ):
        self.path = Path(path)
        self.name = self.path.name
        self.max_fps = max_fps
        self.realtime = realtime
        self._capture: cv2.VideoCapture | None = None
        self._info: SourceInfo | None = None

    def open(self) -> SourceInfo:
        """Open the file; raise ``SourceError`` naming it if it cannot be read."""
        if not self.path.is_file():
            raise SourceError(
                f"video file {self.path} does not exist; check source.url in the config"
            )
        capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"cannot open {self.path} as a video; check that the file is complete "
                "and in a format FFmpeg reads (try `streamer probe` on it)"
            )
        self._capture = capture
        self._info = self._describe(capture)
        logger.info(
            "opened %s: %dx%d at %.2f fps, %s frames",
            self.name,
            self._info.width,
            self._info.height,
            self._info.fps,
            self._info.frame_count if self._info.frame_count is not None else "unknown",
        )
        return self._info

    def _describe(self, capture: cv2.VideoCapture) -> SourceInfo:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        if not PLAUSIBLE_FPS[0] <= fps <= PLAUSIBLE_FPS[1]:
            logger.warning(
                "%s claims %.1f fps, which is implausible; using %.1f",
                self.name,
                fps,
                FALLBACK_FPS,
            )
            fps = FALLBACK_FPS
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\0 ")
        return SourceInfo(
            width=width,
            height=height,
            fps=fps,
            frame_count=count if count > 0 else None,
            codec=codec or None,
        )

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Yield decoded frames until the end of the file or ``stop``."""
        if self._capture is None or self._info is None:
            raise SourceError(f"{self.name} must be opened before reading frames")
        capture, index = self._capture, 0
        min_gap = 1.0 / self.max_fps if self.max_fps else 0.0
        next_media_time = 0.0
        started = time.monotonic()
        while not stop.is_set():
            ok, image = capture.read()
            if not ok or image is None:
                break
            media_time = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if media_time <= 0 and index > 0:
                media_time = index / self._info.fps
            if media_time + 1e-6 < next_media_time:
                continue
            next_media_time = media_time + min_gap
            if self.realtime:
                self._pace(started, media_time, stop)
            yield Frame(
                index=index,
                source_id=self.name,
                image=to_bgr(image),
                captured_at=time.monotonic(),
                wall_time=time.time(),
                media_time=media_time,
            )
            index += 1

    @staticmethod
    def _pace(started: float, media_time: float, stop: threading.Event) -> None:
        delay = started + media_time - time.monotonic()
        if delay > 0:
            stop.wait(delay)

    def close(self) -> None:
        """Release the capture."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

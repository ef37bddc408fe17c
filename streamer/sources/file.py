"""Video files read with OpenCV's FFmpeg backend.

A file is probed before it is read (ffprobe when it is installed, else
OpenCV), so a truncated or foreign file fails with one sentence instead of a
half-open capture. What the container claims is checked against what decodes:

- media times come from each decoded frame's timestamp, so variable frame rate
  files keep their real timing; the rate reported for outputs is the average
  rate, clamped to a plausible range;
- the frame count is the container's count of frames, or unknown (``None``);
  OpenCV's own count is a duration times rate estimate and is not used;
- display-matrix rotation is applied once, by OpenCV's decoder
  (``CAP_PROP_ORIENTATION_AUTO``), and the reported size is that of the
  upright frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2

from streamer.exceptions import SourceError
from streamer.frames import Frame, Image
from streamer.sources._ffmpeg import ffprobe, quiet_ffmpeg
from streamer.sources.base import SourceInfo, fourcc_name, to_bgr

logger = logging.getLogger(__name__)

#: Containers sometimes claim absurd rates (2000 fps for MPEG-TS, 180000 for some
#: cameras); outside this range the claim is ignored.
PLAUSIBLE_FPS = (1.0, 240.0)
FALLBACK_FPS = 25.0
#: Media times closer than this count as equal when sampling with ``max_fps``.
TIME_TOLERANCE_S = 1e-3
#: A file that ends before this share of its claimed frames was cut short.
COMPLETE_SHARE = 0.98


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the container says about a file's video stream."""

    fps: float
    frame_count: int | None
    codec: str | None
    rotation: int
    claimed_fps: float


class FileSource:
    """Every frame of a video file, in order.

    Args:
        path: The video file.
        max_fps: Keep at most this many frames a second of media time.
        realtime: Pace frames at their media time, as a live camera would.
        loop: Start again at the end, forever; indices keep increasing.
        name: How the source is named in logs and records.
    """

    def __init__(
        self,
        path: str,
        *,
        max_fps: float | None = None,
        realtime: bool = False,
        loop: bool = False,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.max_fps = max_fps if max_fps and max_fps > 0 else None
        self.realtime = realtime
        self.loop = loop
        self.facts: FileFacts | None = None
        self.end_reason: str | None = None
        self._capture: Any = None
        self._first: tuple[Image, float] | None = None
        self._info: SourceInfo | None = None

    def open(self) -> SourceInfo:
        """Probe and open the file; raise ``SourceError`` naming it if unreadable."""
        if not self.path.is_file():
            raise SourceError(
                f"video file {self.path} does not exist; check source.url in the config"
            )
        quiet_ffmpeg()
        probed = ffprobe(str(self.path))
        self._capture = self._open_capture()
        ok, image = self._capture.read()
        if not ok or image is None:
            self.close()
            raise SourceError(
                f"cannot decode any frame of {self.path}; the file is damaged or "
                "its codec is not supported (try `streamer probe` on it)"
            )
        pts = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        self._first = (to_bgr(image), pts)
        self.facts = _facts(self._capture, probed)
        self._info = self._describe(self._first[0], self.facts)
        return self._info

    def _open_capture(self) -> Any:
        capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"cannot open {self.path} as a video; check that the file is complete "
                "and in a format FFmpeg reads (try `streamer probe` on it)"
            )
        capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1.0)
        return capture

    def _describe(self, first: Image, facts: FileFacts) -> SourceInfo:
        height, width = first.shape[:2]
        if abs(facts.claimed_fps - facts.fps) > 0.05 * facts.fps:
            logger.warning(
                "%s claims %.1f fps; using %.2f fps (average of its timestamps)",
                self.name, facts.claimed_fps, facts.fps,
            )  # fmt: skip
        logger.info(
            "opened %s: %dx%d at %.2f fps, %s frames%s",
            self.name, width, height, facts.fps,
            facts.frame_count if facts.frame_count is not None else "unknown",
            f", rotated {facts.rotation} degrees" if facts.rotation else "",
        )  # fmt: skip
        return SourceInfo(
            width=width,
            height=height,
            fps=min(facts.fps, self.max_fps) if self.max_fps else facts.fps,
            frame_count=None if self.loop else facts.frame_count,
            codec=facts.codec,
        )

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Yield decoded frames until the end of the file (forever with ``loop``)."""
        if self._capture is None or self._info is None or self.facts is None:
            raise SourceError(f"{self.name} must be opened before reading frames")
        clock = _Clock(self.facts.fps, self.max_fps, time.monotonic())
        index = 0
        while not stop.is_set():
            decoded = 0
            for image, media_time in self._decode(stop, clock):
                decoded += 1
                if not clock.keep(media_time):
                    continue
                if self.realtime:
                    clock.pace(media_time, stop)
                yield self._frame(index, image, media_time)
                index += 1
            self._check_complete(decoded)
            if not self.loop or decoded == 0 or stop.is_set():
                return
            clock.next_pass()
            self._capture.release()
            self._capture = self._open_capture()

    def _decode(
        self, stop: threading.Event, clock: _Clock
    ) -> Iterator[tuple[Image, float]]:
        """Decoded pictures and their media times (the first from ``open``)."""
        if self._first is not None:
            (first, pts), self._first = self._first, None
            yield first, clock.media_time(pts)
        while not stop.is_set():
            ok, image = self._capture.read()
            if not ok or image is None:
                return
            pts = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            yield to_bgr(image), clock.media_time(pts)

    def _frame(self, index: int, image: Image, media_time: float) -> Frame:
        return Frame(
            index=index,
            source_id=self.name,
            image=image,
            captured_at=time.monotonic(),
            wall_time=time.time(),
            media_time=media_time,
        )

    def _check_complete(self, decoded: int) -> None:
        assert self.facts is not None
        claimed = self.facts.frame_count
        if claimed is None or decoded >= claimed * COMPLETE_SHARE:
            return
        self.end_reason = (
            f"{self.name} ended after {decoded} of its {claimed} frames; the rest "
            "cannot be decoded (the file is damaged or cut short)"
        )
        logger.warning("%s", self.end_reason)

    def close(self) -> None:
        """Release the capture; safe to call more than once."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class _Clock:
    """Media times that always increase, ``max_fps`` sampling and pacing."""

    def __init__(self, fps: float, max_fps: float | None, started: float) -> None:
        self._step = 1.0 / fps
        self._min_gap = 1.0 / max_fps if max_fps else 0.0
        self._started = started
        self._offset = 0.0
        self._last = -float("inf")
        self._next_kept = -float("inf")

    def media_time(self, pts: float) -> float:
        """The decoded timestamp, moved on if it does not increase."""
        value = self._offset + pts
        if value <= self._last:
            value = self._last + self._step
        self._last = value
        return value

    def keep(self, media_time: float) -> bool:
        """True if the frame is far enough from the last kept one."""
        if media_time + TIME_TOLERANCE_S < self._next_kept:
            return False
        self._next_kept = media_time + self._min_gap
        return True

    def pace(self, media_time: float, stop: threading.Event) -> None:
        """Wait until the frame's media time has come, as a live camera would."""
        delay = self._started + media_time - time.monotonic()
        if delay > 0:
            stop.wait(delay)

    def next_pass(self) -> None:
        """Continue media times after the last one, for the next loop."""
        self._offset = self._last + self._step


def _facts(capture: Any, probed: dict[str, Any] | None) -> FileFacts:
    stream: dict[str, Any] = (probed or {}).get("streams", [{}])[0]
    opencv_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    claimed = _rate(stream.get("r_frame_rate")) or opencv_fps
    candidates = (_rate(stream.get("avg_frame_rate")), claimed, opencv_fps)
    fps = next((f for f in candidates if _plausible(f)), FALLBACK_FPS)
    count = int(stream.get("nb_frames") or 0)
    return FileFacts(
        fps=fps,
        frame_count=count if count > 0 else None,
        codec=stream.get("codec_name") or fourcc_name(capture.get(cv2.CAP_PROP_FOURCC)),
        rotation=_rotation(stream, capture),
        claimed_fps=claimed,
    )


def _plausible(fps: float) -> bool:
    return PLAUSIBLE_FPS[0] <= fps <= PLAUSIBLE_FPS[1]


def _rate(text: str | None) -> float:
    try:
        return float(Fraction(text)) if text else 0.0
    except (ValueError, ZeroDivisionError):
        return 0.0


def _rotation(stream: dict[str, Any], capture: Any) -> int:
    """Degrees the picture is turned for display (counter-clockwise, as ffprobe)."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(side["rotation"]) % 360
    meta = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0)
    return (360 - meta) % 360

"""Image folders and glob patterns, one frame a picture in sorted order."""

from __future__ import annotations

import glob
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from streamer.exceptions import SourceError
from streamer.frames import Frame, Image
from streamer.sources.base import SourceInfo, to_bgr

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".bmp", ".jpeg", ".jpg", ".jp2", ".pgm", ".png", ".pnm", ".ppm", ".tif",
     ".tiff", ".webp"}
)  # fmt: skip
#: Frames a second reported for outputs when ``max_fps`` does not say.
FOLDER_FPS = 5.0
#: Keeps 16-bit depth and grayscale for ``to_bgr``; applies EXIF orientation.
_READ_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
GLOB_CHARACTERS = frozenset("*?[")


def is_folder_source(url: str) -> bool:
    """True for a directory or a glob pattern."""
    return Path(url).is_dir() or any(c in GLOB_CHARACTERS for c in url)


class FolderSource:
    """The pictures of a folder (or matching a glob pattern), in name order.

    A picture that cannot be decoded becomes a frame without an image whose
    ``error`` says why; the other pictures are unaffected. Sizes may differ.

    Args:
        pattern: A directory, or a glob pattern such as ``shots/*.png``.
        max_fps: The rate reported for outputs, and the pace with ``realtime``.
        realtime: Hand out pictures at ``max_fps`` (default 5 a second).
        loop: Start again after the last picture, forever.
        name: How the source is named in logs and records.
    """

    def __init__(
        self,
        pattern: str,
        *,
        max_fps: float | None = None,
        realtime: bool = False,
        loop: bool = False,
        name: str | None = None,
    ) -> None:
        self.pattern = pattern
        self.name = name or Path(pattern).name or pattern
        self.fps = max_fps if max_fps and max_fps > 0 else FOLDER_FPS
        self.realtime = realtime
        self.loop = loop
        self._paths: list[Path] = []

    def open(self) -> SourceInfo:
        """List the pictures; raise ``SourceError`` if there are none."""
        self._paths = _list_images(self.pattern)
        if not self._paths:
            raise SourceError(
                f"no pictures found at {self.pattern}; expected a folder or glob "
                f"pattern matching {', '.join(sorted(IMAGE_SUFFIXES))} files"
            )
        width, height = self._first_size()
        logger.info("opened %s: %d pictures", self.name, len(self._paths))
        return SourceInfo(
            width=width,
            height=height,
            fps=self.fps,
            frame_count=None if self.loop else len(self._paths),
            codec="images",
        )

    def _first_size(self) -> tuple[int, int]:
        for path in self._paths:
            image, _ = read_image(path)
            if image is not None:
                return image.shape[1], image.shape[0]
        return 0, 0

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Yield one frame a picture; undecodable ones carry an error."""
        started, index = time.monotonic(), 0
        while not stop.is_set():
            for path in self._paths:
                if stop.is_set():
                    return
                if self.realtime:
                    stop.wait(max(0.0, started + index / self.fps - time.monotonic()))
                yield self._frame(index, path)
                index += 1
            if not self.loop:
                return

    def _frame(self, index: int, path: Path) -> Frame:
        image, error = read_image(path)
        return Frame(
            index=index,
            source_id=self.name,
            image=image,
            captured_at=time.monotonic(),
            wall_time=time.time(),
            media_time=index / self.fps,
            error=error,
            extra={"path": str(path)},
        )

    def close(self) -> None:
        """Nothing to release."""


def read_image(path: Path) -> tuple[Image | None, str | None]:
    """Decode a picture as BGR ``uint8``, or say in one sentence why not."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        return None, f"cannot decode {path.name}: {exc.strerror or exc}"
    if data.size == 0:
        return None, f"cannot decode {path.name}: the file is empty"
    image = cv2.imdecode(data, _READ_FLAGS)
    if image is None:
        return None, (
            f"cannot decode {path.name}: not a picture OpenCV can read "
            "(damaged or of another format)"
        )
    return to_bgr(image), None


def _list_images(pattern: str) -> list[Path]:
    if Path(pattern).is_dir():
        candidates = list(Path(pattern).iterdir())
    else:
        candidates = [Path(p) for p in glob.glob(pattern)]
    return sorted(
        p for p in candidates if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )

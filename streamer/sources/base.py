"""What every frame source provides."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from streamer.frames import Frame, Image


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What is known about a source once it is open.

    Attributes:
        width: Frame width in pixels, after rotation.
        height: Frame height in pixels, after rotation.
        fps: Frames per second to write outputs at: the container's claim when it
            is plausible, else a measured or configured rate.
        frame_count: Frames the source will produce, when known in advance.
        codec: The codec's short name, when known.
        live: True for cameras and streams, False for files and folders.
    """

    width: int
    height: int
    fps: float
    frame_count: int | None = None
    codec: str | None = None
    live: bool = False


class Source(Protocol):
    """A producer of frames.

    ``open`` is called once, then ``frames`` is iterated on the source thread
    until it ends or ``stop`` is set, then ``close`` is called.
    """

    name: str

    def open(self) -> SourceInfo:
        """Open the source and describe it; raise ``SourceError`` if it cannot."""
        ...

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Yield frames until the source ends or ``stop`` is set."""
        ...

    def close(self) -> None:
        """Release the source; safe to call more than once."""
        ...


def to_bgr(image: np.ndarray) -> Image:
    """Return ``image`` as a 3-channel BGR ``uint8`` array.

    Grayscale (2-D or one channel), BGRA and 16-bit pictures are converted, so no
    later stage needs to handle them.
    """
    import cv2

    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return np.ascontiguousarray(cv2.cvtColor(image, code=cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(image, code=cv2.COLOR_BGRA2BGR))
    return np.ascontiguousarray(image)


def fourcc_name(code: float) -> str | None:
    """The four-character codec code OpenCV reports, as text (None if empty)."""
    value = int(code)
    text = "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))
    return text.strip("\0 ") or None

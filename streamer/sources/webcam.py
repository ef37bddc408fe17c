"""Local cameras (V4L2 on Linux), read like streams by a ``LiveReader``."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import cv2

from streamer.exceptions import SourceError
from streamer.sources.live import LiveSource, ReconnectPolicy, StatusCallback

logger = logging.getLogger(__name__)

_DEVICE_PATH = re.compile(r"^/dev/video(\d+)$")


def is_webcam(url: str | int) -> bool:
    """True for a device index (``0``, ``"0"``) or a ``/dev/videoN`` path."""
    if isinstance(url, int):
        return True
    return url.isdigit() or _DEVICE_PATH.match(url) is not None


class WebcamSource(LiveSource):
    """The newest frames of a local camera, reopening it if it goes away.

    Args:
        device: A device index or a ``/dev/videoN`` path.
        policy: Open and read timeouts, and the backoff between reopens.
        width: Requested frame width (the camera may pick another).
        height: Requested frame height.
        fps: Requested frame rate; also the most frames a second handed out.
        on_status: Called with every status change.
    """

    def __init__(
        self,
        device: str | int,
        policy: ReconnectPolicy | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.device = _device_path(device)
        super().__init__(
            self.device, policy or ReconnectPolicy(), max_fps=fps, on_status=on_status
        )
        self._requested = {
            cv2.CAP_PROP_FRAME_WIDTH: width,
            cv2.CAP_PROP_FRAME_HEIGHT: height,
            cv2.CAP_PROP_FPS: fps,
        }

    def _check(self) -> None:
        if sys.platform.startswith("linux") and not Path(self.device).exists():
            raise SourceError(
                f"webcam {self.device} does not exist; plug the camera in or set "
                "source.url to an existing /dev/video device"
            )

    def _open_capture(self) -> Any:
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        capture = cv2.VideoCapture(self.device, backend)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open webcam {self.device}; is it in use?")
        for prop, value in self._requested.items():
            if value is not None:
                capture.set(prop, float(value))
        return capture


def _device_path(device: str | int) -> str:
    if isinstance(device, int) or device.isdigit():
        return f"/dev/video{int(device)}"
    return device

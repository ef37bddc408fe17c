"""An OpenCV window on the local display.

The project installs ``opencv-python-headless``, which has no GUI backend, so
this sink is for machines where the user swapped in ``opencv-python``. The
check reads OpenCV's build information instead of opening a window, which on
a headless build would only print a native error.
"""

from __future__ import annotations

import logging
import re

import cv2

from streamer.config import WindowSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Image, Result, Status
from streamer.sources.base import SourceInfo

logger = logging.getLogger(__name__)

NO_GUI = (
    "this OpenCV build has no GUI; install opencv-python instead of "
    "opencv-python-headless, or use the preview sink"
)
_GUI_LINE = re.compile(r"^\s*GUI:\s*(\S+)", re.MULTILINE)


def opencv_has_gui(build_info: str | None = None) -> bool:
    """True when OpenCV was built with a GUI backend (GTK, Qt, Win32, Cocoa)."""
    info = cv2.getBuildInformation() if build_info is None else build_info
    match = _GUI_LINE.search(info)
    return match is not None and match.group(1).upper() != "NONE"


class WindowSink:
    """Shows annotated frames in a window; closing the window hides it."""

    needs_image = True

    def __init__(self, config: WindowSinkConfig) -> None:
        self.config = config
        self._open = False

    def open(self, info: SourceInfo) -> None:
        """Create the window, or fail with one clear sentence."""
        if not opencv_has_gui():
            raise SinkError(NO_GUI)
        try:
            cv2.namedWindow(self.config.title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise SinkError(f"{NO_GUI} ({exc})") from exc
        self._open = True

    def write(self, result: Result, annotated: Image | None) -> None:
        """Show the frame and let the window process its events."""
        if not self._open or result.status is Status.DROPPED:
            return
        image = annotated if annotated is not None else result.frame.image
        if image is not None:
            cv2.imshow(self.config.title, image)
            cv2.waitKey(1)

    def close(self) -> None:
        """Close the window."""
        if self._open:
            self._open = False
            cv2.destroyWindow(self.config.title)

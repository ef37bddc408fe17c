"""Moving-pixel segmentation by MOG2 background subtraction.

The background model lives in the model instance and learns from every posted
frame, so it only makes sense for one camera at a time; requests are
serialised by a lock because the subtractor's state is shared. A frame of a
new size restarts the background model, and the first frame after a (re)start
only seeds it and reports no motion. Moving pixels come back as one
``motion`` bitmap (label index 1) in the LandingEdge RLE format, with score
1.0; a frame with no motion has no bitmap.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import cv2
import numpy as np

from streamer.server.models.base import (
    Image,
    Laps,
    MaskBitmap,
    Segmentation,
    StageTimes,
)
from streamer.server.rle import encode_rle

LABEL = ("motion", 1)


class MotionModel:
    """MOG2 background subtraction as a segmentation model.

    Args:
        history: Frames the background model remembers.
        var_threshold: Squared distance above which a pixel is foreground.
        learning_rate: Background learning rate; negative picks it from history.
        open_px: Side of the opening kernel that removes speckle; 0 disables it.
    """

    name = "motion"
    needs_pixels = True

    def __init__(
        self,
        *,
        history: int = 500,
        var_threshold: float = 16.0,
        learning_rate: float = -1.0,
        open_px: int = 3,
    ) -> None:
        self._history = history
        self._var_threshold = var_threshold
        self._learning_rate = learning_rate
        self._kernel = (
            cv2.getStructuringElement(cv2.MORPH_RECT, (open_px, open_px))
            if open_px > 0
            else None
        )
        self._lock = threading.Lock()
        self._subtractor: Any = None
        self._shape: tuple[int, ...] = ()

    def predict(self, image_bgr: Image) -> Segmentation:
        """Update the background with one frame and return its moving pixels."""
        times = StageTimes()
        start = time.perf_counter()
        with self._lock:
            times.waiting_s = time.perf_counter() - start
            laps = Laps()
            foreground = self._subtract(image_bgr)
            times.infer_s = laps.lap()

        height, width = image_bgr.shape[:2]
        bitmaps = self._encode(foreground)
        times.postprocess_s = laps.lap()
        return Segmentation(height=height, width=width, bitmaps=bitmaps, times=times)

    def _subtract(self, image_bgr: Image) -> Image:
        seeding = self._subtractor is None or image_bgr.shape != self._shape
        if seeding:
            self._subtractor = cv2.createBackgroundSubtractorMOG2(
                history=self._history,
                varThreshold=self._var_threshold,
                detectShadows=False,
            )
            self._shape = image_bgr.shape
        mask = self._subtractor.apply(image_bgr, learningRate=self._learning_rate)

        # MOG2 calls every pixel of its first frame foreground; that frame only
        # seeds the background.
        return np.zeros_like(mask) if seeding else cast(Image, mask)

    def _encode(self, foreground: Image) -> tuple[MaskBitmap, ...]:
        if self._kernel is not None:
            foreground = cast(
                Image, cv2.morphologyEx(foreground, cv2.MORPH_OPEN, self._kernel)
            )
        if not np.any(foreground):
            return ()
        bitmap = encode_rle(foreground)
        return (MaskBitmap(LABEL[0], LABEL[1], 1.0, bitmap),)

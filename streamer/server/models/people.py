"""People detection with OpenCV's HOG + linear SVM pedestrian detector.

The detector's window is 64x128 px, so people under about 100 px tall are
missed; frames lower than ``upscale_below`` pixels are enlarged before
detection and the boxes scaled back. Each box's SVM margin becomes its score
through :func:`~streamer.server.models.base.margin_to_score`, boxes below
``min_score`` are dropped, and overlapping boxes are merged by non-maximum
suppression.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import cv2
import numpy as np

from streamer.server.models.base import (
    Box,
    Detections,
    Image,
    Laps,
    StageTimes,
    margin_to_score,
    to_box,
)

LABEL = ("person", 1)


class PeopleModel:
    """HOG pedestrian detector; label ``person``, label index 1.

    Args:
        min_score: Boxes scoring below this are dropped.
        upscale_below: Frames lower than this many pixels are upscaled to it.
        win_stride: Step of the detection window, in pixels.
        padding: Padding added around the image, in pixels.
        scale: Ratio between consecutive pyramid levels.
        nms_iou: Overlap (IoU) above which the lower-scoring box is dropped.
    """

    name = "people"
    needs_pixels = True

    def __init__(
        self,
        *,
        min_score: float = 0.3,
        upscale_below: int = 480,
        win_stride: int = 8,
        padding: int = 8,
        scale: float = 1.05,
        nms_iou: float = 0.4,
    ) -> None:
        self.min_score = min_score
        self.upscale_below = upscale_below
        self._params: dict[str, Any] = {
            "winStride": (win_stride, win_stride),
            "padding": (padding, padding),
            "scale": scale,
        }
        self.nms_iou = nms_iou
        self._local = threading.local()

    def predict(self, image_bgr: Image) -> Detections:
        """Detect people in one BGR image."""
        laps, times = Laps(), StageTimes()
        factor = self._upscale_factor(image_bgr.shape[0])
        work = _resize(image_bgr, factor)
        times.preprocess_s = laps.lap()

        rects, weights = self._detector().detectMultiScale(work, **self._params)
        times.infer_s = laps.lap()

        boxes = self._postprocess(rects, weights, factor, image_bgr.shape[:2])
        times.postprocess_s = laps.lap()
        return Detections(boxes=boxes, times=times)

    def _upscale_factor(self, height: int) -> float:
        if height <= 0 or height >= self.upscale_below:
            return 1.0
        return self.upscale_below / height

    def _detector(self) -> cv2.HOGDescriptor:
        # A HOGDescriptor is not safe to share between threads: one per thread.
        hog: cv2.HOGDescriptor | None = getattr(self._local, "hog", None)
        if hog is None:
            hog = cv2.HOGDescriptor()
            detector = cv2.HOGDescriptor.getDefaultPeopleDetector()
            hog.setSVMDetector(np.asarray(detector, dtype=np.float32))
            self._local.hog = hog
        return hog

    def _postprocess(
        self,
        rects: Any,
        weights: Any,
        factor: float,
        bounds: tuple[int, int],
    ) -> tuple[Box, ...]:
        if len(rects) == 0:
            return ()
        scaled = np.rint(np.asarray(rects, dtype=np.float64) / factor).astype(int)
        scores = [margin_to_score(float(w)) for w in np.ravel(weights)]
        keep = cv2.dnn.NMSBoxes(scaled.tolist(), scores, self.min_score, self.nms_iou)
        order = sorted(np.ravel(keep).tolist(), key=lambda i: -scores[i])
        return tuple(to_box(tuple(scaled[i]), scores[i], LABEL, bounds) for i in order)


def _resize(image: Image, factor: float) -> Image:
    if factor == 1.0:
        return image
    resized = cv2.resize(
        image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR
    )
    return cast(Image, resized)

"""Frontal-face detection with a Haar cascade shipped inside OpenCV's wheel.

The score of a face is the cascade's last-stage weight mapped through
:func:`~streamer.server.models.base.margin_to_score`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

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

LABEL = ("face", 1)
CASCADE_FILE = "haarcascade_frontalface_default.xml"


class FacesModel:
    """Haar frontal-face cascade; label ``face``, label index 1.

    Args:
        min_score: Faces scoring below this are dropped.
        scale_factor: Ratio between consecutive pyramid levels.
        min_neighbors: Overlapping hits needed to keep a face.
        min_size: Smallest face side, in pixels.
    """

    name = "faces"
    needs_pixels = True

    def __init__(
        self,
        *,
        min_score: float = 0.0,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 24,
    ) -> None:
        self.min_score = min_score
        self._params: dict[str, Any] = {
            "scaleFactor": scale_factor,
            "minNeighbors": min_neighbors,
            "minSize": (min_size, min_size),
            "outputRejectLevels": True,
        }
        # cv2.data is missing from OpenCV's type stubs.
        cascades = cv2.data.haarcascades  # type: ignore[attr-defined]
        self._path = str(Path(cascades) / CASCADE_FILE)
        self._local = threading.local()
        self._detector()  # fail at start-up, not on the first request

    def predict(self, image_bgr: Image) -> Detections:
        """Detect frontal faces in one BGR image."""
        laps, times = Laps(), StageTimes()
        gray = cv2.equalizeHist(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY))
        times.preprocess_s = laps.lap()

        rects, _, weights = self._detector().detectMultiScale3(gray, **self._params)
        times.infer_s = laps.lap()

        boxes = self._postprocess(rects, weights, image_bgr.shape[:2])
        times.postprocess_s = laps.lap()
        return Detections(boxes=boxes, times=times)

    def _detector(self) -> cv2.CascadeClassifier:
        # A CascadeClassifier is not safe to share between threads: one per thread.
        cascade: cv2.CascadeClassifier | None = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(self._path)
            if cascade.empty():
                raise RuntimeError(f"OpenCV could not load the cascade {self._path}.")
            self._local.cascade = cascade
        return cascade

    def _postprocess(
        self, rects: Any, weights: Any, bounds: tuple[int, int]
    ) -> tuple[Box, ...]:
        found = [
            (_rect(rect), margin_to_score(float(weight)))
            for rect, weight in zip(rects, np.ravel(weights), strict=False)
        ]
        kept = sorted(
            (item for item in found if item[1] >= self.min_score),
            key=lambda item: -item[1],
        )
        return tuple(to_box(rect, score, LABEL, bounds) for rect, score in kept)


def _rect(rect: Any) -> tuple[int, int, int, int]:
    x, y, w, h = (int(value) for value in rect)
    return x, y, w, h

"""A model that predicts nothing after a fixed delay, for load tests."""

from __future__ import annotations

import time

from streamer.server.models.base import Detections, Image, Laps, StageTimes


class NullModel:
    """Answers every image with no detections after ``delay_ms``.

    The app does not decode images for this model; it only checks that the
    posted bytes start like an image file.

    Args:
        delay_ms: Milliseconds to wait before answering.
    """

    name = "null"
    needs_pixels = False

    def __init__(self, *, delay_ms: float = 0.0) -> None:
        if delay_ms < 0:
            raise ValueError(f"delay_ms must be 0 or more, not {delay_ms}.")
        self.delay_s = delay_ms / 1000.0

    def predict(self, image_bgr: Image) -> Detections:
        """Wait for the delay and return no boxes; the image is ignored."""
        laps = Laps()
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        return Detections(boxes=(), times=StageTimes(infer_s=laps.lap()))

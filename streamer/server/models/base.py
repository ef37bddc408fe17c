"""What every embedded model returns, and the protocol models follow.

Results are plain frozen dataclasses; the app turns them into LandingEdge JSON
(see :mod:`streamer.server.responses`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

Image: TypeAlias = npt.NDArray[np.uint8]


@dataclass
class StageTimes:
    """Seconds a model spent in each stage of one prediction."""

    waiting_s: float = 0.0
    preprocess_s: float = 0.0
    infer_s: float = 0.0
    postprocess_s: float = 0.0


@dataclass(frozen=True)
class Box:
    """One detected object, in pixel coordinates of the posted image."""

    label_name: str
    label_index: int
    score: float
    xmin: int
    ymin: int
    xmax: int
    ymax: int


@dataclass(frozen=True)
class Detections:
    """An object-detection result."""

    boxes: tuple[Box, ...]
    times: StageTimes = field(default_factory=StageTimes)


@dataclass(frozen=True)
class MaskBitmap:
    """One class mask of a segmentation result, RLE-encoded."""

    label_name: str
    label_index: int
    score: float
    bitmap: str


@dataclass(frozen=True)
class Segmentation:
    """A segmentation result: one RLE bitmap per class with foreground."""

    height: int
    width: int
    bitmaps: tuple[MaskBitmap, ...]
    times: StageTimes = field(default_factory=StageTimes)


Prediction: TypeAlias = Detections | Segmentation


class Model(Protocol):
    """An embedded model; one instance serves requests from many threads."""

    @property
    def name(self) -> str:
        """The registry name, e.g. ``"people"``."""
        ...

    @property
    def needs_pixels(self) -> bool:
        """False when the model ignores the image, so the app skips decoding."""
        ...

    def predict(self, image_bgr: Image) -> Prediction:
        """Predict on one BGR ``uint8`` image of shape ``(H, W, 3)``."""
        ...


class Laps:
    """Measures consecutive stages with ``time.perf_counter``."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self) -> float:
        """Return the seconds since the previous lap (or creation)."""
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        return elapsed


def margin_to_score(margin: float) -> float:
    """Map a classifier margin to a 0..1 score: ``1 - exp(-margin)``, 0 below 0.

    The mapping is monotonic: margin 0 (the decision boundary) scores 0,
    margin 0.7 scores 0.5, margin 2.3 scores 0.9 and large margins approach 1.
    """
    return 0.0 if margin <= 0.0 else 1.0 - math.exp(-margin)


def to_box(
    rect: tuple[int, int, int, int],
    score: float,
    label: tuple[str, int],
    bounds: tuple[int, int],
) -> Box:
    """Build a box from ``(x, y, w, h)``, clipped to ``bounds = (height, width)``."""
    x, y, w, h = rect
    height, width = bounds
    return Box(
        label_name=label[0],
        label_index=label[1],
        score=round(score, 6),
        xmin=max(0, int(x)),
        ymin=max(0, int(y)),
        xmax=min(width, int(x + w)),
        ymax=min(height, int(y + h)),
    )

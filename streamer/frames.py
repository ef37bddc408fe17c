"""The values that cross threads: frames, results and their status."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


class Status(str, enum.Enum):
    """How a frame left the pipeline."""

    OK = "ok"
    FAILED = "failed"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class Frame:
    """One picture from a source.

    Attributes:
        index: Position in the source, counting every frame the source produced.
        source_id: Name of the source, safe to log (no credentials).
        image: BGR ``uint8`` picture of shape (height, width, 3), or ``None`` for a
            frame that could not be decoded (it fails with ``error``).
        captured_at: ``time.monotonic()`` when the frame was read.
        wall_time: ``time.time()`` when the frame was read, for records.
        media_time: Presentation time in seconds from the container, if known.
        error: Why the frame has no picture, for frames that failed at the source.
    """

    index: int
    source_id: str
    image: Image | None
    captured_at: float
    wall_time: float
    media_time: float | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Result:
    """A frame with what became of it.

    Attributes:
        frame: The frame.
        status: ``ok``, ``failed`` or ``dropped``.
        predictions: What the model found (empty unless ``ok``).
        error: The failure or drop reason, one sentence.
        timings: Seconds spent in each stage (read, queue, encode, request, parse).
        worker: Name of the worker thread that handled it, if any.
    """

    frame: Frame
    status: Status
    predictions: Sequence[Any] = ()
    error: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    worker: str | None = None

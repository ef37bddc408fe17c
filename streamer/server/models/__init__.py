"""The embedded models, selected by name.

=========  ==================  ==================================
name       task                labels (label index)
=========  ==================  ==================================
people     object detection    ``person`` (1)
faces      object detection    ``face`` (1)
motion     segmentation        ``motion`` (1)
null       object detection    none; answers after ``delay_ms``
=========  ==================  ==================================
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from streamer.server.models.base import (
    Box,
    Detections,
    MaskBitmap,
    Model,
    Prediction,
    Segmentation,
    StageTimes,
    margin_to_score,
)
from streamer.server.models.faces import FacesModel
from streamer.server.models.motion import MotionModel
from streamer.server.models.null import NullModel
from streamer.server.models.people import PeopleModel

_FACTORIES: dict[str, Callable[..., Model]] = {
    "people": PeopleModel,
    "faces": FacesModel,
    "motion": MotionModel,
    "null": NullModel,
}

MODELS: tuple[str, ...] = tuple(_FACTORIES)


def build_model(name: str, **options: Any) -> Model:
    """Create the model called ``name`` with its keyword options.

    Options left as ``None`` are dropped, so callers can pass every CLI value.

    Raises:
        ValueError: The name is unknown or an option does not apply to it.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    given = {key: value for key, value in options.items() if value is not None}
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ValueError(
            f"Model {name!r} has no option {', '.join(unknown)}; "
            f"its options are {', '.join(accepted) or 'none'}."
        )
    return factory(**given)


__all__ = [
    "MODELS",
    "Box",
    "Detections",
    "FacesModel",
    "MaskBitmap",
    "Model",
    "MotionModel",
    "NullModel",
    "PeopleModel",
    "Prediction",
    "Segmentation",
    "StageTimes",
    "build_model",
    "margin_to_score",
]

"""Prediction types, request metadata and the RLE mask decoder."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ClassificationPrediction",
    "InferenceMetadata",
    "ObjectDetectionPrediction",
    "OcrPrediction",
    "Prediction",
    "SegmentationPrediction",
    "decode_bitmap_rle",
]

DEFAULT_ENCODING_MAP: Mapping[str, int] = {"Z": 0, "N": 1}
_RUN = re.compile(r"(\d+)([A-Za-z])")


class Prediction(BaseModel):
    """Base of every prediction: a confidence score in [0, 1]."""

    model_config = ConfigDict(ignored_types=(cached_property,))

    score: float

    @property
    def num_predicted_pixels(self) -> int:
        """Number of image pixels this prediction covers."""
        raise NotImplementedError(f"{type(self).__name__} does not cover pixels")


class ClassificationPrediction(Prediction):
    """A class label for the whole image."""

    label_name: str
    label_index: int


class ObjectDetectionPrediction(ClassificationPrediction):
    """One detected object with its box `(xmin, ymin, xmax, ymax)` in pixels."""

    id: str
    bboxes: tuple[int, int, int, int]

    @property
    def num_predicted_pixels(self) -> int:
        """Area of the box in pixels."""
        xmin, ymin, xmax, ymax = self.bboxes
        return (xmax - xmin) * (ymax - ymin)


class SegmentationPrediction(ClassificationPrediction):
    """One class mask, run-length encoded as the server sent it.

    `mask_shape` is `(height, width)`. The decoded masks are computed on first
    access and cached on the instance.
    """

    id: str
    encoded_mask: str
    encoding_map: dict[str, int]
    mask_shape: tuple[int, int]

    @cached_property
    def decoded_boolean_mask(self) -> npt.NDArray[np.uint8]:
        """The mask as a `uint8` array of 0 and 1, shape `mask_shape`."""
        flat = decode_bitmap_rle(self.encoded_mask, self.encoding_map)
        return flat.reshape(self.mask_shape)

    @cached_property
    def decoded_index_mask(self) -> npt.NDArray[np.uint8]:
        """The mask with each covered pixel set to `label_index`."""
        return (self.decoded_boolean_mask * self.label_index).astype(np.uint8)

    @cached_property
    def num_predicted_pixels(self) -> int:
        """Number of pixels covered by the mask."""
        return int(np.count_nonzero(self.decoded_boolean_mask))

    @cached_property
    def percentage_predicted_pixels(self) -> float:
        """Share of the image covered by the mask, in [0, 1]."""
        height, width = self.mask_shape
        return self.num_predicted_pixels / (height * width)


class OcrPrediction(Prediction):
    """One piece of recognised text and its 4-point quadrilateral."""

    text: str
    location: list[tuple[int, int]]


class InferenceMetadata(BaseModel):
    """Optional metadata sent with an image; echoed back by LandingEdge.

    Fields accept their snake_case names and their camelCase aliases
    (`image_id` or `imageId`); they are sent in snake_case.
    """

    model_config = ConfigDict(populate_by_name=True)

    image_id: str = Field(default="", alias="imageId")
    inspection_station_id: str = Field(default="", alias="inspectionStationId")
    location_id: str = Field(default="", alias="locationId")
    capture_timestamp: str = Field(default="", alias="captureTimestamp")

    def to_wire(self) -> str:
        """Return the JSON text sent in the `metadata` form field."""
        return self.model_dump_json(by_alias=False)


def decode_bitmap_rle(
    bitmap: str, encoding_map: Mapping[str, int] | None = None
) -> npt.NDArray[np.uint8]:
    """Decode a run-length encoded bitmap such as `"2N3Z"` to a flat array.

    Each run is a count followed by a letter; the letter is looked up in
    `encoding_map` (default `{"Z": 0, "N": 1}`). The result is 1-D; reshape it
    row-major to `(height, width)`.

    Raises:
        ValueError: The text is not a sequence of runs, or a letter is not in the
            map.
    """
    mapping = DEFAULT_ENCODING_MAP if encoding_map is None else encoding_map
    runs = _RUN.findall(bitmap)
    if sum(len(count) + 1 for count, _ in runs) != len(bitmap):
        raise ValueError(
            f"RLE bitmap is malformed near {bitmap[:40]!r}; expected runs like '12Z'"
        )
    counts = np.fromiter((int(count) for count, _ in runs), dtype=np.int64)
    try:
        values = np.fromiter((mapping[letter] for _, letter in runs), dtype=np.uint8)
    except KeyError as exc:
        raise ValueError(
            f"RLE bitmap uses letter {exc.args[0]!r} that is not in the encoding "
            f"map {dict(mapping)}"
        ) from None
    return np.repeat(values, counts)

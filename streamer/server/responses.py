"""Model results as LandingEdge JSON bodies.

The shapes follow the recorded LandingEdge responses: an object-detection body
keys each box by a fresh UUID; a segmentation body carries the image size, the
RLE encoding and one bitmap per class. ``defectId`` has no meaning outside a
LandingLens project; it repeats the label index. Every body ends with a
``latency`` object in seconds, whose keys the landingai SDK documents:

- ``waiting_s``: from the request's arrival to the start of the work, covering
  upload, form parsing, the thread-pool queue and any model lock;
- ``decoding_s``: reading and decoding the image file;
- ``preprocess_s``, ``infer_s``, ``postprocess_s``: the model's own stages,
  with the JSON building counted in ``postprocess_s``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from streamer.server.models import Box, Detections, Prediction, Segmentation
from streamer.server.rle import DEFAULT_MAP

METADATA_KEYS = (
    "image_id",
    "inspection_station_id",
    "location_id",
    "capture_timestamp",
)


def parse_metadata(text: str | None) -> dict[str, str]:
    """Return the echo of a request's ``metadata`` part, LandingEdge style.

    Missing keys become ``""``; an empty ``capture_timestamp`` becomes now, in
    ISO 8601 with the local offset. Unknown keys are ignored.

    Raises:
        ValueError: The text is not a JSON object.
    """
    given: Any = {}
    if text:
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The metadata part is not valid JSON: {exc}.") from exc
    if not isinstance(given, dict):
        raise ValueError("The metadata part must be a JSON object.")

    echo = {key: _as_text(given.get(key)) for key in METADATA_KEYS}
    if not echo["capture_timestamp"]:
        echo["capture_timestamp"] = datetime.now().astimezone().isoformat()
    return echo


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def build_body(
    prediction: Prediction, metadata: dict[str, str], latency: dict[str, float]
) -> dict[str, Any]:
    """Build the full response body for one prediction."""
    if isinstance(prediction, Detections):
        kind, predictions = "ObjectDetectionPrediction", _detections(prediction)
    else:
        kind, predictions = "SegmentationPrediction", _segmentation(prediction)
    return {
        "type": kind,
        "predictions": predictions,
        "metadata": metadata,
        "latency": latency,
    }


def _detections(result: Detections) -> dict[str, Any]:
    return {str(uuid.uuid4()): _box(box) for box in result.boxes}


def _box(box: Box) -> dict[str, Any]:
    return {
        "score": box.score,
        "labelIndex": box.label_index,
        "defectId": box.label_index,
        "labelName": box.label_name,
        "coordinates": {
            "xmin": box.xmin,
            "xmax": box.xmax,
            "ymin": box.ymin,
            "ymax": box.ymax,
        },
    }


def _segmentation(result: Segmentation) -> dict[str, Any]:
    bitmaps = {
        str(uuid.uuid4()): {
            "score": mask.score,
            "bitmap": mask.bitmap,
            "labelName": mask.label_name,
            "labelIndex": mask.label_index,
            "defectId": mask.label_index,
        }
        for mask in result.bitmaps
    }
    return {
        "imageHeight": result.height,
        "imageWidth": result.width,
        "numClasses": 1,
        "encoding": {"algorithm": "rle", "options": {"map": dict(DEFAULT_MAP)}},
        "bitmaps": bitmaps,
    }

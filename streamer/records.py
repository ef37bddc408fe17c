"""The per-frame record: one JSON object for every frame, the schema of JSONL output.

A record has these keys:

- ``index``: the frame's position in its source.
- ``source``: the source's name (never a URL with credentials).
- ``wall_time``: when the frame was read, seconds since the epoch.
- ``media_time``: the frame's presentation time in seconds, or null.
- ``status``: ``ok``, ``failed`` or ``dropped``.
- ``error``: the failure or drop reason, or null.
- ``predictions``: a list; each item has ``kind`` (``object_detection``,
  ``segmentation``, ``classification`` or ``ocr``), ``score`` and, by kind,
  ``label_name``, ``label_index``, ``bboxes`` [xmin, ymin, xmax, ymax],
  ``mask_shape`` [height, width] and ``pixels``, ``text`` and ``location``.
- ``timings``: seconds per stage: ``queue_s``, ``encode_s``, ``request_s``,
  ``parse_s``, ``predict_s``, ``draw_s``.
"""

from __future__ import annotations

from typing import Any

from streamer.frames import Result
from streamer.overlay import prediction_kind


def prediction_record(pred: Any) -> dict[str, Any]:
    """One prediction as plain JSON data."""
    kind = prediction_kind(pred)
    record: dict[str, Any] = {"kind": kind, "score": round(float(pred.score), 5)}
    if kind == "ocr":
        record["text"] = pred.text
        record["location"] = [list(point) for point in pred.location]
        return record
    record["label_name"] = pred.label_name
    record["label_index"] = pred.label_index
    if kind == "object_detection":
        record["bboxes"] = [int(v) for v in pred.bboxes]
    elif kind == "segmentation":
        record["mask_shape"] = list(pred.mask_shape)
        record["pixels"] = int(pred.num_predicted_pixels)
    return record


def frame_record(result: Result) -> dict[str, Any]:
    """One result as plain JSON data (see the module docstring for the schema)."""
    frame = result.frame
    return {
        "index": frame.index,
        "source": frame.source_id,
        "wall_time": round(frame.wall_time, 6),
        "media_time": None if frame.media_time is None else round(frame.media_time, 6),
        "status": result.status.value,
        "error": result.error,
        "predictions": [prediction_record(p) for p in result.predictions],
        "timings": {k: round(v, 6) for k, v in result.timings.items()},
    }

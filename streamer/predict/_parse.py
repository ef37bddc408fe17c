"""Turn decoded JSON replies of LandingEdge, LandingLens cloud and OCR into predictions.

Every shape problem becomes a `ResponseFormatError` with one sentence naming the
missing or wrong part, never a `KeyError` or `TypeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from streamer.exceptions import ResponseFormatError
from streamer.predict._models import (
    DEFAULT_ENCODING_MAP,
    ClassificationPrediction,
    ObjectDetectionPrediction,
    OcrPrediction,
    Prediction,
    SegmentationPrediction,
)

__all__ = ["parse_cloud", "parse_edge", "parse_latency", "parse_ocr"]

_OD = "ObjectDetectionPrediction"
_SEG = "SegmentationPrediction"
_CLASS = "ClassificationPrediction"


def _mapping(value: Any, where: str) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else raise ResponseFormatError."""
    if not isinstance(value, dict):
        raise ResponseFormatError(
            f"Expected a JSON object at {where} but got {type(value).__name__}"
        )
    return value


def _field(obj: dict[str, Any], key: str, where: str) -> Any:
    """Return `obj[key]` or raise ResponseFormatError naming the missing key."""
    if key not in obj:
        raise ResponseFormatError(f"The reply has no {key!r} at {where}")
    return obj[key]


def _first(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> Any:
    """Return the value of the first key of `keys` present in `obj`."""
    for key in keys:
        if key in obj:
            return obj[key]
    raise ResponseFormatError(f"The reply has none of {list(keys)} at {where}")


def _build(factory: Callable[..., Prediction], where: str, **fields: Any) -> Any:
    """Validate fields into a model; map errors to ResponseFormatError."""
    try:
        return factory(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        loc = ".".join(str(part) for part in problem["loc"])
        raise ResponseFormatError(
            f"The reply has a bad value at {where}.{loc}: {problem['msg']}"
        ) from None


def _label(item: dict[str, Any], where: str) -> dict[str, Any]:
    """Read score, label name and index in camelCase or snake_case."""
    return {
        "score": _field(item, "score", where),
        "label_name": _first(item, ("labelName", "label_name"), where),
        "label_index": _first(item, ("labelIndex", "label_index"), where),
    }


def _object_detections(raw: Any, where: str) -> list[Prediction]:
    """Parse `{uuid: {score, labelName, labelIndex, coordinates}}`."""
    predictions: list[Prediction] = []
    for key, value in _mapping(raw, where).items():
        item_where = f"{where}.{key}"
        item = _mapping(value, item_where)
        box = _mapping(_field(item, "coordinates", item_where), item_where)
        corners = tuple(
            _field(box, name, f"{item_where}.coordinates")
            for name in ("xmin", "ymin", "xmax", "ymax")
        )
        predictions.append(
            _build(
                ObjectDetectionPrediction,
                item_where,
                id=key,
                bboxes=corners,
                **_label(item, item_where),
            )
        )
    return predictions


def _segmentations(
    raw: Any, where: str, shape_source: dict[str, Any] | None = None
) -> list[Prediction]:
    """Parse `{imageHeight, imageWidth, encoding, bitmaps: {uuid: {...}}}`.

    The image size is read from the block itself, else from `shape_source`.
    """
    block = _mapping(raw, where)
    sizes = block
    if "imageHeight" not in block and shape_source is not None:
        sizes = shape_source
    shape = (
        _field(sizes, "imageHeight", where),
        _field(sizes, "imageWidth", where),
    )
    encoding = _mapping(block.get("encoding") or {}, f"{where}.encoding")
    options = _mapping(encoding.get("options") or {}, f"{where}.encoding.options")
    encoding_map = options.get("map") or dict(DEFAULT_ENCODING_MAP)
    bitmaps = _mapping(_field(block, "bitmaps", where), f"{where}.bitmaps")
    predictions: list[Prediction] = []
    for key, value in bitmaps.items():
        item_where = f"{where}.bitmaps.{key}"
        item = _mapping(value, item_where)
        predictions.append(
            _build(
                SegmentationPrediction,
                item_where,
                id=key,
                encoded_mask=_field(item, "bitmap", item_where),
                encoding_map=encoding_map,
                mask_shape=shape,
                **_label(item, item_where),
            )
        )
    return predictions


def _classification(raw: Any, where: str) -> list[Prediction]:
    """Parse `{score, labelName, labelIndex}` into a one-item list."""
    item = _mapping(raw, where)
    return [_build(ClassificationPrediction, where, **_label(item, where))]


def parse_edge(body: Any) -> list[Prediction]:
    """Parse a LandingEdge `/images` reply."""
    reply = _mapping(body, "the top level")
    kind = _field(reply, "type", "the top level")
    raw = _field(reply, "predictions", "the top level")
    if kind == _OD:
        return _object_detections(raw, "predictions")
    if kind == _SEG:
        return _segmentations(raw, "predictions")
    if kind == _CLASS:
        return _classification(raw, "predictions")
    raise ResponseFormatError(
        f"Prediction type {kind!r} is not supported for edge replies; expected "
        f"{_OD}, {_SEG} or {_CLASS}"
    )


def parse_cloud(body: Any) -> list[Prediction]:
    """Parse a LandingLens cloud `/inference/v1/predict` reply."""
    reply = _mapping(body, "the top level")
    backbone = reply.get("backbonetype")
    kind = reply.get("type")
    if backbone == _OD:
        raw = _field(reply, "backbonepredictions", "the top level")
        return _object_detections(raw, "backbonepredictions")
    if backbone == _SEG:
        raw = _mapping(
            _field(reply, "backbonepredictions", "the top level"),
            "backbonepredictions",
        )
        return _segmentations(raw, "backbonepredictions", shape_source=reply)
    if backbone is None and kind == _SEG:
        return _segmentations(
            _field(reply, "predictions", "the top level"), "predictions"
        )
    if backbone is None and kind == _CLASS:
        return _classification(
            _field(reply, "predictions", "the top level"), "predictions"
        )
    raise ResponseFormatError(
        f"Prediction type {backbone or kind!r} is not supported for cloud replies; "
        f"expected {_OD}, {_SEG} or {_CLASS}"
    )


def parse_ocr(body: Any, threshold: float) -> list[Prediction]:
    """Parse an OCR reply (a batch: list of lists) keeping `score >= threshold`."""
    if not isinstance(body, list) or not body or not isinstance(body[0], list):
        raise ResponseFormatError(
            "Expected the OCR reply to be a non-empty JSON array of arrays, "
            f"got {type(body).__name__}"
        )
    predictions: list[Prediction] = []
    for index, value in enumerate(body[0]):
        where = f"[0][{index}]"
        item = _mapping(value, where)
        points = _field(item, "location", where)
        if not isinstance(points, list):
            raise ResponseFormatError(f"Expected a list of points at {where}.location")
        location = [
            (_field(p, "x", where), _field(p, "y", where))
            for p in (_mapping(p, f"{where}.location") for p in points)
        ]
        prediction = _build(
            OcrPrediction,
            where,
            text=_field(item, "text", where),
            score=_field(item, "score", where),
            location=location,
        )
        if prediction.score >= threshold:
            predictions.append(prediction)
    return predictions


def parse_latency(body: Any) -> dict[str, float]:
    """Return the reply's `latency` object, or `{}` when it has none."""
    if not isinstance(body, dict):
        return {}
    latency = body.get("latency")
    return dict(latency) if isinstance(latency, dict) else {}

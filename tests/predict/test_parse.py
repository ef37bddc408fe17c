"""Recorded LandingEdge / LandingLens replies parse into the expected predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from streamer.exceptions import ResponseFormatError
from streamer.predict import (
    ClassificationPrediction,
    ObjectDetectionPrediction,
    OcrPrediction,
    SegmentationPrediction,
    decode_bitmap_rle,
)
from streamer.predict._parse import parse_cloud, parse_edge, parse_latency, parse_ocr
from tests.predict.conftest import FIXTURES, fixture_json


def test_fixture_directory_exists() -> None:
    assert FIXTURES.is_dir(), f"{FIXTURES} must exist (CI keeps it beside the repo)"


def test_edge_object_detection() -> None:
    preds = parse_edge(fixture_json("edge_object_detection_response.json"))

    assert all(isinstance(p, ObjectDetectionPrediction) for p in preds)
    assert [(p.label_name, p.label_index) for p in preds] == [("Screw", 1)] * 3
    assert [p.bboxes for p in preds] == [
        (945, 1603, 1118, 1795),
        (436, 1037, 640, 1203),
        (1515, 1419, 1977, 1787),
    ]
    assert [round(p.score, 4) for p in preds] == [0.993, 0.9922, 0.9547]
    assert preds[0].id == "f82d7158-cb75-4ef6-94f0-0eb8d27161c3"
    assert preds[0].num_predicted_pixels == 173 * 192


def test_edge_segmentation_mask() -> None:
    preds = parse_edge(fixture_json("edge_segmentation_response.json"))

    assert len(preds) == 1
    seg = preds[0]
    assert isinstance(seg, SegmentationPrediction)
    assert (seg.label_name, seg.label_index) == ("screw", 1)
    assert seg.mask_shape == (2048, 2048)
    assert seg.encoding_map == {"Z": 0, "N": 1}
    assert seg.decoded_boolean_mask.shape == (2048, 2048)
    assert seg.decoded_boolean_mask.dtype == np.uint8
    assert seg.num_predicted_pixels == 94_553
    assert seg.percentage_predicted_pixels == pytest.approx(94_553 / 2048**2)
    assert int(seg.decoded_index_mask.max()) == 1


def test_edge_classification() -> None:
    preds = parse_edge(fixture_json("edge_classification_response.json"))

    assert preds == [
        ClassificationPrediction(
            score=0.9956502318382263, label_name="HasFire", label_index=0
        )
    ]


def test_cloud_classification_and_latency() -> None:
    body = fixture_json("cloud_classification_response.json")

    preds = parse_cloud(body)

    assert [(p.label_name, p.label_index) for p in preds] == [("HasFire", 0)]
    assert set(parse_latency(body)) == {
        "preprocess_s",
        "infer_s",
        "postprocess_s",
        "serialize_s",
        "input_conversion_s",
        "model_loading_s",
    }


def test_cloud_visual_prompting_segmentation() -> None:
    preds = parse_cloud(
        fixture_json("cloud_visual_prompting_segmentation_response.json")
    )

    assert len(preds) == 4
    assert {p.label_name for p in preds} == {
        "Green Field",
        "Brown Field",
        "Trees",
        "Structure",
    }
    for pred in preds:
        assert isinstance(pred, SegmentationPrediction)
        assert pred.mask_shape == (1539, 1603)
        assert pred.decoded_boolean_mask.shape == (1539, 1603)
        assert 0 < pred.num_predicted_pixels < 1539 * 1603


def test_cloud_object_detection_backbone() -> None:
    body = {
        "backbonetype": "ObjectDetectionPrediction",
        "backbonepredictions": {
            "u1": {
                "score": 0.9,
                "labelIndex": 2,
                "labelName": "dent",
                "defect_id": 7,
                "coordinates": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4},
            }
        },
        "predictions": {"score": 0.9, "labelIndex": 1, "labelName": "NG"},
        "type": "ClassificationPrediction",
    }

    (pred,) = parse_cloud(body)

    assert pred == ObjectDetectionPrediction(
        id="u1", score=0.9, label_name="dent", label_index=2, bboxes=(1, 2, 3, 4)
    )


def test_cloud_segmentation_backbone_snake_case() -> None:
    body = {
        "backbonetype": "SegmentationPrediction",
        "backbonepredictions": {
            "imageHeight": 2,
            "imageWidth": 3,
            "encoding": {"algorithm": "rle", "options": {"map": {"Z": 0, "N": 1}}},
            "bitmaps": {
                "b1": {"bitmap": "1Z2N3Z", "label_name": "crack", "label_index": 4},
            },
        },
        "predictions": {"score": 0.5, "labelIndex": 1, "labelName": "NG"},
        "type": "ClassificationPrediction",
    }
    body["backbonepredictions"]["bitmaps"]["b1"]["score"] = 0.8

    (pred,) = parse_cloud(body)

    assert isinstance(pred, SegmentationPrediction)
    assert pred.label_name == "crack"
    assert pred.decoded_boolean_mask.tolist() == [[0, 1, 1], [0, 0, 0]]
    assert pred.decoded_index_mask.tolist() == [[0, 4, 4], [0, 0, 0]]


@pytest.mark.parametrize(
    ("threshold", "count"),
    [(0.5, 1), (0.6326617002487183, 1), (0.7, 0)],
)
def test_ocr_threshold(threshold: float, count: int) -> None:
    preds = parse_ocr(fixture_json("cloud_ocr_response.json"), threshold)

    assert len(preds) == count
    if count:
        assert preds[0] == OcrPrediction(
            text="test",
            score=0.6326617002487183,
            location=[(598, 248), (818, 250), (818, 303), (598, 301)],
        )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"type": "AnomalyPrediction", "predictions": {}}, "not supported"),
        ({"predictions": {}}, "'type'"),
        ([], "JSON object"),
        ({"type": "ClassificationPrediction"}, "'predictions'"),
        ({"type": "ClassificationPrediction", "predictions": []}, "JSON object"),
        (
            {"type": "ClassificationPrediction", "predictions": {"score": 1}},
            "labelName",
        ),
        (
            {
                "type": "ClassificationPrediction",
                "predictions": {"score": "high", "labelName": "a", "labelIndex": 0},
            },
            "bad value",
        ),
        (
            {"type": "ObjectDetectionPrediction", "predictions": {"u": {"score": 1}}},
            "'coordinates'",
        ),
        (
            {"type": "SegmentationPrediction", "predictions": {"imageHeight": 1}},
            "'imageWidth'",
        ),
    ],
)
def test_edge_bad_shapes_raise_response_format_error(body: Any, words: str) -> None:
    with pytest.raises(ResponseFormatError, match=words):
        parse_edge(body)


@pytest.mark.parametrize(
    "body",
    [
        {"backbonetype": "Weird", "type": "ClassificationPrediction"},
        {"backbonetype": None, "type": None},
        "text",
    ],
)
def test_cloud_bad_shapes(body: Any) -> None:
    with pytest.raises(ResponseFormatError):
        parse_cloud(body)


@pytest.mark.parametrize("body", [{}, [], [{}], [[{"text": "a"}]], [[{"location": 1}]]])
def test_ocr_bad_shapes(body: Any) -> None:
    with pytest.raises(ResponseFormatError):
        parse_ocr(body, 0.5)


@pytest.mark.parametrize(
    ("bitmap", "mapping", "expected"),
    [
        ("2N3Z2N5Z", None, [1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]),
        ("", None, []),
        ("1A2B", {"A": 3, "B": 7}, [3, 7, 7]),
        ("10Z", {"Z": 0, "N": 1}, [0] * 10),
    ],
)
def test_decode_bitmap_rle(
    bitmap: str, mapping: dict[str, int] | None, expected: list[int]
) -> None:
    assert decode_bitmap_rle(bitmap, mapping).tolist() == expected


@pytest.mark.parametrize("bitmap", ["N", "2N3", "2X", "2N 3Z", "-1N"])
def test_decode_bitmap_rle_rejects_malformed(bitmap: str) -> None:
    with pytest.raises(ValueError):
        decode_bitmap_rle(bitmap)

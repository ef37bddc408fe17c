"""The embedded models, called directly."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from streamer.server.models import (
    MODELS,
    Detections,
    PeopleModel,
    Segmentation,
    build_model,
    margin_to_score,
)
from streamer.server.rle import decode_rle


@pytest.mark.parametrize(
    ("margin", "score"),
    [(-1.0, 0.0), (0.0, 0.0), (0.6931, 0.5), (2.3026, 0.9), (50.0, 1.0)],
)
def test_margin_to_score_table(margin: float, score: float) -> None:
    assert margin_to_score(margin) == pytest.approx(score, abs=1e-4)


def test_margin_to_score_is_monotonic() -> None:
    scores = [margin_to_score(m / 10) for m in range(-10, 60)]

    assert scores == sorted(scores)


def test_people_model_finds_people_in_a_street_frame(
    street_frames: list[np.ndarray],
) -> None:
    frame = street_frames[0]

    result = PeopleModel().predict(frame)

    assert isinstance(result, Detections)
    assert result.boxes
    assert all(box.label_name == "person" for box in result.boxes)
    assert [b.score for b in result.boxes] == sorted(
        (b.score for b in result.boxes), reverse=True
    )


def test_people_model_upscales_small_frames(street_frames: list[np.ndarray]) -> None:
    small = np.asarray(
        cv2.resize(street_frames[0], (384, 288), interpolation=cv2.INTER_AREA),
        dtype=np.uint8,
    )

    with_upscale = PeopleModel().predict(small)
    without = PeopleModel(upscale_below=0).predict(small)

    assert len(with_upscale.boxes) > len(without.boxes)
    for box in with_upscale.boxes:
        assert 0 <= box.xmin < box.xmax <= 384
        assert 0 <= box.ymin < box.ymax <= 288


def test_people_min_score_drops_weak_boxes(street_frames: list[np.ndarray]) -> None:
    frame = street_frames[0]

    strict = PeopleModel(min_score=0.99).predict(frame)

    assert all(box.score >= 0.99 for box in strict.boxes)


def test_motion_model_reports_moving_pixels(street_frames: list[np.ndarray]) -> None:
    model = build_model("motion")

    seed = model.predict(street_frames[0])
    result = model.predict(street_frames[1])

    assert isinstance(seed, Segmentation)
    assert seed.bitmaps == ()

    assert isinstance(result, Segmentation)
    (mask,) = result.bitmaps
    decoded = decode_rle(mask.bitmap, (result.height, result.width))
    assert 0 < decoded.sum() < decoded.size


def test_null_model_waits_for_its_delay() -> None:
    model = build_model("null", delay_ms=50)

    start = time.perf_counter()
    result = model.predict(np.zeros((0, 0, 3), dtype=np.uint8))

    assert time.perf_counter() - start >= 0.05
    assert result == Detections(boxes=(), times=result.times)


@pytest.mark.parametrize(
    ("name", "options", "error"),
    [
        ("cats", {}, "Unknown model 'cats'; choose one of people"),
        ("null", {"min_score": 0.5}, "'null' has no option min_score; its options"),
        ("people", {"delay_ms": 5}, "'people' has no option delay_ms"),
        ("null", {"delay_ms": -1}, "delay_ms must be 0 or more"),
    ],
)
def test_build_model_errors(name: str, options: dict[str, float], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        build_model(name, **options)


def test_registry_names() -> None:
    assert MODELS == ("people", "faces", "motion", "null")

"""POST /images over real HTTP, checked against recorded LandingEdge shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import numpy as np
import pytest
import requests

from streamer.server.models import build_model
from streamer.server.rle import decode_rle

from .helpers import ThreadedServer, jpeg, read_fixture

Serve = Callable[..., ThreadedServer]
TIMEOUT = (2.0, 20.0)
LATENCY_KEYS = {"preprocess_s", "infer_s", "postprocess_s", "decoding_s", "waiting_s"}


def post(url: str, image: bytes, metadata: dict[str, Any] | None = None) -> Any:
    data = {"metadata": json.dumps(metadata)} if metadata is not None else None
    return requests.post(
        f"{url}/images", files={"file": image}, data=data, timeout=TIMEOUT
    )


def assert_same_shape(body: dict[str, Any], recorded: dict[str, Any]) -> None:
    assert set(body) == set(recorded) | {"latency"}
    assert set(body["latency"]) == LATENCY_KEYS
    assert set(body["metadata"]) == set(recorded["metadata"])


def test_people_on_a_street_frame(
    serve_model: Serve, street_frames: list[np.ndarray]
) -> None:
    recorded = read_fixture("edge_object_detection_response.json")
    (recorded_box, *_) = recorded["predictions"].values()
    server = serve_model(build_model("people"))
    height, width = street_frames[0].shape[:2]

    reply = post(server.url, jpeg(street_frames[0]))

    assert reply.status_code == 200
    body = reply.json()
    assert_same_shape(body, recorded)
    assert body["type"] == "ObjectDetectionPrediction"
    assert len(body["predictions"]) >= 1
    for box in body["predictions"].values():
        assert set(box) == set(recorded_box)
        assert set(box["coordinates"]) == set(recorded_box["coordinates"])
        assert box["labelName"] == "person"
        assert box["labelIndex"] == 1
        assert 0.0 < box["score"] <= 1.0
        corners = box["coordinates"]
        assert all(isinstance(value, int) for value in corners.values())
        assert 0 <= corners["xmin"] < corners["xmax"] <= width
        assert 0 <= corners["ymin"] < corners["ymax"] <= height


def test_metadata_is_echoed(serve_model: Serve) -> None:
    server = serve_model(build_model("null"))
    sent = {
        "image_id": "frame-7",
        "inspection_station_id": "line-3",
        "location_id": "hall-b",
        "capture_timestamp": "2024-05-01T10:00:00+02:00",
    }

    body = post(server.url, jpeg(np.zeros((8, 8, 3), np.uint8)), sent).json()

    assert body["metadata"] == sent


@pytest.mark.parametrize("metadata", [None, {"image_id": "a"}])
def test_empty_capture_timestamp_becomes_now(
    serve_model: Serve, metadata: dict[str, Any] | None
) -> None:
    server = serve_model(build_model("null"))

    echo = post(server.url, jpeg(np.zeros((8, 8, 3), np.uint8)), metadata).json()

    stamp = datetime.fromisoformat(echo["metadata"]["capture_timestamp"])
    assert stamp.tzinfo is not None
    assert abs(time.time() - stamp.timestamp()) < 60
    assert echo["metadata"]["image_id"] == (metadata or {}).get("image_id", "")


def test_faces_answer_in_the_detection_shape(serve_model: Serve) -> None:
    server = serve_model(build_model("faces"))
    image = np.full((240, 320, 3), 200, np.uint8)

    body = post(server.url, jpeg(image)).json()

    assert body["type"] == "ObjectDetectionPrediction"
    assert body["predictions"] == {}
    assert_same_shape(body, read_fixture("edge_object_detection_response.json"))


def test_motion_answers_with_a_segmentation(
    serve_model: Serve, street_frames: list[np.ndarray]
) -> None:
    recorded = read_fixture("edge_segmentation_response.json")
    server = serve_model(build_model("motion"))

    post(server.url, jpeg(street_frames[0]))
    body = post(server.url, jpeg(street_frames[1])).json()

    assert_same_shape(body, recorded)
    assert body["type"] == "SegmentationPrediction"
    predictions = body["predictions"]
    assert set(predictions) == set(recorded["predictions"])
    assert predictions["encoding"] == recorded["predictions"]["encoding"]
    shape = (predictions["imageHeight"], predictions["imageWidth"])
    assert shape == street_frames[1].shape[:2]
    (bitmap,) = predictions["bitmaps"].values()
    (recorded_bitmap,) = recorded["predictions"]["bitmaps"].values()
    assert set(bitmap) == set(recorded_bitmap)
    assert decode_rle(bitmap["bitmap"], shape).shape == shape


def test_null_delay_is_honoured(serve_model: Serve) -> None:
    server = serve_model(build_model("null", delay_ms=120))

    start = time.perf_counter()
    body = post(server.url, jpeg(np.zeros((8, 8, 3), np.uint8))).json()

    assert time.perf_counter() - start >= 0.12
    assert body["predictions"] == {}
    assert body["latency"]["infer_s"] >= 0.12


@pytest.mark.parametrize("model", ["people", "null"])
@pytest.mark.parametrize(
    ("request_kwargs", "status", "phrase"),
    [
        ({"data": {"metadata": "{}"}}, 422, "no 'file' part"),
        ({"files": {"file": b"not an image at all"}}, 400, "not a decodable image"),
        ({"files": {"file": b""}}, 400, "is empty"),
        ({"files": {"file": b"\xff\xd8\xff"}, "data": {"metadata": "[1"}}, 422, "JSON"),
        ({"json": {"file": "x"}}, 422, "no 'file' part"),
    ],
)
def test_bad_requests_get_a_json_sentence(
    serve_model: Serve,
    model: str,
    request_kwargs: dict[str, Any],
    status: int,
    phrase: str,
) -> None:
    server = serve_model(build_model(model))

    reply = requests.post(f"{server.url}/images", timeout=TIMEOUT, **request_kwargs)

    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/json"
    assert phrase in reply.json()["detail"]


def test_truncated_jpeg_is_rejected_by_decoding_models(serve_model: Serve) -> None:
    server = serve_model(build_model("people"))

    reply = post(server.url, b"\xff\xd8\xff\xe0" + b"\x00" * 20)

    assert reply.status_code == 400
    assert "not a decodable image" in reply.json()["detail"]


def test_health_counts_requests(serve_model: Serve) -> None:
    server = serve_model(build_model("null"))
    post(server.url, jpeg(np.zeros((8, 8, 3), np.uint8)))
    post(server.url, b"junk")

    for route in ("/health", "/status"):
        reply = requests.get(f"{server.url}{route}", timeout=TIMEOUT)
        assert reply.status_code == 200
        assert reply.json()["model"] == "null"
        assert reply.json()["requests"] == 2
        assert reply.json()["failed"] == 1


def test_keep_alive_requests_take_milliseconds(serve_model: Serve) -> None:
    server = serve_model(build_model("null"))
    image = jpeg(np.zeros((576, 768, 3), np.uint8))
    timings = []

    with requests.Session() as session:
        for _ in range(30):
            start = time.perf_counter()
            reply = session.post(
                f"{server.url}/images", files={"file": image}, timeout=TIMEOUT
            )
            timings.append(time.perf_counter() - start)
            assert reply.status_code == 200

    # Nagle plus delayed ACKs would add about 40 ms to every request.
    assert sorted(timings)[len(timings) // 2] < 0.02


class _BrokenModel:
    name = "broken"
    needs_pixels = True

    def predict(self, image_bgr: np.ndarray) -> Any:
        raise RuntimeError("model exploded")


def test_a_failing_model_gives_a_json_500(serve_model: Serve) -> None:
    server = serve_model(_BrokenModel())

    reply = post(server.url, jpeg(np.zeros((8, 8, 3), np.uint8)))

    assert reply.status_code == 500
    assert reply.json() == {
        "detail": "The server failed on this request: RuntimeError."
    }


def test_unknown_routes_answer_json(serve_model: Serve) -> None:
    server = serve_model(build_model("null"))

    missing = requests.get(f"{server.url}/nowhere", timeout=TIMEOUT)
    wrong_method = requests.get(f"{server.url}/images", timeout=TIMEOUT)

    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert wrong_method.status_code == 405
    assert "detail" in wrong_method.json()


def test_concurrent_people_requests_agree(
    serve_model: Serve, street_frames: list[np.ndarray]
) -> None:
    server = serve_model(build_model("people"))
    image = jpeg(street_frames[0])

    def boxes(_: int) -> list[tuple[int, ...]]:
        body = post(server.url, image).json()
        return sorted(
            tuple(box["coordinates"].values()) for box in body["predictions"].values()
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(boxes, range(6)))

    assert results[0]
    assert all(result == results[0] for result in results)

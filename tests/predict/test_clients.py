"""Edge, cloud and OCR clients against a loopback server replaying recorded replies."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

import cv2
import numpy as np
import pytest

from streamer.exceptions import (
    BadRequestError,
    ClientError,
    InternalServerError,
    InvalidApiKeyError,
    PermissionDeniedError,
    PredictConnectionError,
    PredictTimeoutError,
    RateLimitExceededError,
    ResponseFormatError,
    ServiceUnavailableError,
    ShutdownRequested,
    UnauthorizedError,
)
from streamer.predict import (
    ClassificationPrediction,
    EdgePredictor,
    InferenceMetadata,
    ObjectDetectionPrediction,
    OcrPredictor,
    Predictor,
    RetryPolicy,
    SegmentationPrediction,
)
from tests.predict.conftest import (
    Received,
    Reply,
    ScriptServer,
    fixture_json,
    fixture_text,
)

KEY = "land_sk_loopbacktestkey0123456789"
ENDPOINT = "8fc1bc53-c5c1-4154-8cc1-a08f2e17ba43"
FAST = RetryPolicy(
    max_attempts=3,
    initial_wait_s=0.01,
    max_wait_s=0.05,
    jitter_s=0.0,
    read_timeout_retries=0,
    rate_limit_budget_s=3.0,
    max_retry_after_s=2.0,
    rate_limit_wait_s=0.05,
)
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def red_bgr(height: int = 24, width: int = 40) -> Any:
    """An OpenCV-style BGR frame that is pure red."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :, 2] = 255
    return image


def edge(server: ScriptServer, **kwargs: Any) -> EdgePredictor:
    options: dict[str, Any] = {"retry": FAST, "timeout": (1.0, 5.0)}
    options.update(kwargs)
    return EdgePredictor("127.0.0.1", server.port, **options)


def cloud(server: ScriptServer, **kwargs: Any) -> Predictor:
    options: dict[str, Any] = {
        "api_key": KEY,
        "url": server.url("/inference/v1/predict"),
        "retry": FAST,
        "timeout": (1.0, 5.0),
    }
    options.update(kwargs)
    return Predictor(ENDPOINT, **options)


def decoded_file(request: Received, part: str = "file") -> Any:
    filename, content = request.parts()[part]
    assert filename == part
    image = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- edge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "kind", "count"),
    [
        ("edge_object_detection_response.json", ObjectDetectionPrediction, 3),
        ("edge_segmentation_response.json", SegmentationPrediction, 1),
        ("edge_classification_response.json", ClassificationPrediction, 1),
    ],
)
def test_edge_replies(
    server: ScriptServer, fixture: str, kind: type[Any], count: int
) -> None:
    server.script(Reply(body=fixture_text(fixture), content_type="text/plain"))
    predictor = edge(server, color_order="BGR")

    assert predictor.get_metrics() == {}
    preds = predictor.predict(red_bgr(), metadata=InferenceMetadata(imageId="img-7"))

    assert len(preds) == count and all(isinstance(p, kind) for p in preds)
    assert set(predictor.last_timings) == {"encode_s", "request_s", "parse_s"}
    assert all(v >= 0 for v in predictor.last_timings.values())
    assert predictor.get_metrics() == {}
    (request,) = server.received
    assert request.path == "/images" and request.query == {}
    assert request.headers["contentType"] == "multipart/form-data"
    assert "apikey" not in request.headers
    assert list(request.parts()) == ["metadata", "file"]
    assert json.loads(request.parts()["metadata"][1])["image_id"] == "img-7"
    assert request.part_headers()["file"] == ["Content-Disposition"]
    blue, green, red = decoded_file(request)[12, 20].tolist()
    assert decoded_file(request).shape == (24, 40, 3)
    assert red > 230 and green < 30 and blue < 30


def test_edge_rgb_default_and_no_metadata(server: ScriptServer) -> None:
    server.script(Reply(body=fixture_json("edge_classification_response.json")))
    rgb_red = red_bgr()[:, :, ::-1].copy()

    edge(server, image_format="PNG").predict(rgb_red)

    (request,) = server.received
    assert list(request.parts()) == ["file"]
    assert decoded_file(request)[0, 0].tolist() == [0, 0, 255]


def test_edge_reuse_session_false_opens_new_connections(server: ScriptServer) -> None:
    server.script(Reply(body=fixture_json("edge_classification_response.json")))
    predictor = edge(server)

    for _ in range(2):
        predictor.predict(red_bgr())
    for _ in range(2):
        predictor.predict(red_bgr(), reuse_session=False)

    ports = [r.client_port for r in server.received]
    assert ports[0] == ports[1]
    assert len({ports[1], ports[2], ports[3]}) == 3


def test_edge_ready_check_refused() -> None:
    port = closed_port()

    with pytest.raises(PredictConnectionError, match="Failed to connect") as info:
        EdgePredictor("127.0.0.1", port)

    assert f"127.0.0.1:{port}/images" in str(info.value)
    assert isinstance(info.value, ConnectionError)


def test_edge_ready_check_ipv6_loopback() -> None:
    with socket.socket(socket.AF_INET6) as listener:
        try:
            listener.bind(("::1", 0))
        except OSError:
            pytest.fail("IPv6 loopback is not available on this machine")
        listener.listen()
        port = listener.getsockname()[1]

        predictor = EdgePredictor("::1", port)

    assert predictor.url == f"http://[::1]:{port}/images"


def test_edge_refused_during_predict_retries_then_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    predictor = EdgePredictor(
        "127.0.0.1", closed_port(), check_server_ready=False, retry=FAST
    )

    with caplog.at_level(logging.WARNING), pytest.raises(PredictConnectionError):
        predictor.predict(red_bgr())

    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == FAST.max_attempts - 1


# --- status mapping -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "error", "detail"),
    [
        (400, "cloud_error_400_body.json", ClientError, "file_url"),
        (401, "cloud_error_401_body.json", UnauthorizedError, "Missing user record"),
        (403, "cloud_error_403_body.json", PermissionDeniedError, "QuotaExceeded"),
        (404, None, BadRequestError, "404 page not found"),
        (422, "cloud_error_422_body.json", BadRequestError, "not a valid uuid"),
        (
            500,
            "cloud_error_500_body.json",
            InternalServerError,
            "Internal server error",
        ),
    ],
)
def test_cloud_error_statuses(
    server: ScriptServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    fixture: str | None,
    error: type[Exception],
    detail: str,
) -> None:
    body = fixture_text(fixture) if fixture else "404 page not found"
    server.script(Reply(status=status, body=body, content_type="text/plain"))

    with caplog.at_level(logging.DEBUG), pytest.raises(error) as info:
        cloud(server).predict(red_bgr())

    assert info.value.status_code == status
    assert detail in str(info.value)
    assert KEY not in str(info.value) and KEY not in caplog.text
    assert len(server.received) == 1


def test_error_detail_never_echoes_key(server: ScriptServer) -> None:
    server.script(Reply(status=401, body={"message": f"bad key {KEY}"}))

    with pytest.raises(UnauthorizedError) as info:
        cloud(server).predict(red_bgr())

    assert KEY not in str(info.value) and "bad key ***" in str(info.value)


# --- cloud and OCR wire format -------------------------------------------------------


def test_cloud_request_and_metrics(server: ScriptServer) -> None:
    server.script(Reply(body=fixture_json("cloud_classification_response.json")))
    predictor = cloud(server)

    (pred,) = predictor.predict(red_bgr(), metadata={"image_id": "x"})

    assert isinstance(pred, ClassificationPrediction) and pred.label_name == "HasFire"
    assert predictor.get_metrics()["infer_s"] == pytest.approx(0.10236716270446777)
    (request,) = server.received
    assert request.path == "/inference/v1/predict"
    assert request.query == {"endpoint_id": [ENDPOINT]}
    assert request.headers["apikey"] == KEY
    event = json.loads(request.headers["X-event"])
    assert event["properties"]["endpoint_id"] == ENDPOINT
    assert list(request.parts()) == ["metadata", "file"]


def test_cloud_visual_prompting(server: ScriptServer) -> None:
    body = fixture_text("cloud_visual_prompting_segmentation_response.json")
    server.script(Reply(body=body))

    preds = cloud(server).predict(red_bgr())

    assert len(preds) == 4
    assert all(isinstance(p, SegmentationPrediction) for p in preds)


def test_cloud_ready_check_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/inference/v1/predict"

    with pytest.raises(PredictConnectionError, match="cloud inference service"):
        Predictor(ENDPOINT, api_key=KEY, url=url)


def test_cloud_requires_valid_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LANDINGAI_API_KEY", raising=False)

    with pytest.raises(InvalidApiKeyError):
        Predictor(ENDPOINT, check_server_ready=False, url="http://127.0.0.1:9/x")


def test_ocr_request(server: ScriptServer) -> None:
    server.script(Reply(body=fixture_json("cloud_ocr_response.json")))
    predictor = OcrPredictor(
        threshold=0.5, language="en", api_key=KEY, url=server.url("/ocr/v1/detect-text")
    )
    roi = [(1, 2), (3, 4), (5, 6), (7, 8)]

    preds = predictor.predict(red_bgr(), mode="single-text", regions_of_interest=[roi])

    assert [p.text for p in preds] == ["test"]
    (request,) = server.received
    assert request.path == "/ocr/v1/detect-text"
    assert request.headers["apikey"] == KEY
    parts = request.parts()
    assert list(parts) == ["language", "rois", "images"]
    assert parts["language"][1] == b"en"
    assert json.loads(parts["rois"][1])[0][0]["mode"] == "single-text"
    assert decoded_file(request, "images").shape == (24, 40, 3)


@pytest.mark.parametrize("kwargs", [{"mode": "paragraph"}, {"mode": "single-text"}])
def test_ocr_rejects_bad_mode(server: ScriptServer, kwargs: dict[str, Any]) -> None:
    predictor = OcrPredictor(api_key=KEY, url=server.url("/ocr"))

    with pytest.raises(ValueError):
        predictor.predict(red_bgr(), **kwargs)


# --- retries, timeouts, formats ----------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds(server: ScriptServer) -> None:
    server.script(
        Reply(status=429, body="429 Too Many Requests", headers={"Retry-After": "1"}),
        Reply(body=fixture_json("edge_classification_response.json")),
    )

    preds = edge(server).predict(red_bgr())

    assert len(preds) == 1
    first, second = server.received
    assert second.at - first.at >= 1.0


def test_429_forever_gives_up_within_budget(server: ScriptServer) -> None:
    server.script(Reply(status=429, body="slow down", headers={"Retry-After": "1"}))
    policy = RetryPolicy(rate_limit_budget_s=2.5, initial_wait_s=0.01, jitter_s=0)
    started = time.monotonic()

    with pytest.raises(RateLimitExceededError) as info:
        edge(server, retry=policy).predict(red_bgr())

    assert time.monotonic() - started < 3.5
    assert len(server.received) in (2, 3)
    assert info.value.retry_after == 1.0


def test_502_html_is_retried_then_service_unavailable(server: ScriptServer) -> None:
    server.script(Reply(status=502, body=HTML_502, content_type="text/html"))

    with pytest.raises(ServiceUnavailableError, match="HTTP 502"):
        edge(server).predict(red_bgr())

    assert len(server.received) == FAST.max_attempts


def test_503_then_success(server: ScriptServer) -> None:
    server.script(
        Reply(status=503, body="503 Service Unavailable", content_type="text/plain"),
        Reply(body=fixture_json("edge_classification_response.json")),
    )

    assert len(edge(server).predict(red_bgr())) == 1
    assert len(server.received) == 2


def test_html_200_is_response_format_error(server: ScriptServer) -> None:
    server.script(Reply(body="<html>login</html>", content_type="text/html"))

    with pytest.raises(ResponseFormatError, match=r"HTTP 200.*text/html"):
        edge(server).predict(red_bgr())

    assert len(server.received) == 1


def test_read_timeout(server: ScriptServer) -> None:
    server.script(Reply(body="{}", delay_s=1.0))
    started = time.monotonic()

    with pytest.raises(PredictTimeoutError) as info:
        edge(server, timeout=(1.0, 0.2)).predict(red_bgr())

    assert info.value.phase == "read"
    assert time.monotonic() - started < 0.9


def test_read_timeout_retried_once_by_default(server: ScriptServer) -> None:
    server.script(
        Reply(body="{}", delay_s=0.6),
        Reply(body=fixture_json("edge_classification_response.json")),
    )
    policy = RetryPolicy(initial_wait_s=0.01, jitter_s=0)

    preds = edge(server, timeout=(1.0, 0.3), retry=policy).predict(red_bgr())

    assert len(preds) == 1


def test_stop_event_interrupts_backoff(server: ScriptServer) -> None:
    server.script(Reply(status=503, body="busy"))
    stop = threading.Event()
    policy = RetryPolicy(initial_wait_s=5.0, max_wait_s=5.0, jitter_s=0)
    predictor = edge(server, retry=policy, stop_event=stop)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    with pytest.raises(ShutdownRequested) as info:
        predictor.predict(red_bgr())

    assert time.monotonic() - started < 1.0
    assert isinstance(info.value.__cause__, ServiceUnavailableError)


# --- threads ---------------------------------------------------------------------


def echo_label(request: Received) -> Reply:
    """Reply with the request's image_id as the predicted label."""
    image_id = json.loads(request.parts()["metadata"][1])["image_id"]
    body = {
        "type": "ClassificationPrediction",
        "predictions": {"score": 0.5, "labelIndex": 0, "labelName": image_id},
    }
    return Reply(body=body)


def test_sixteen_threads_each_get_their_own_replies(
    server: ScriptServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.responder = echo_label
    image = red_bgr(8, 8)
    mismatches: list[str] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            predictor = edge(server, color_order="BGR")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
            return
        try:
            for n in range(50):
                request_id = f"t{index}-r{n}"
                (pred,) = predictor.predict(image, metadata={"image_id": request_id})
                if pred.label_name != request_id:
                    mismatches.append(request_id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            predictor.close()

    with caplog.at_level(logging.DEBUG):
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert not errors and not mismatches
    assert len(server.received) == 16 * 50
    assert "Connection pool is full" not in caplog.text


def test_no_retry_policy_sends_once(server: ScriptServer) -> None:
    server.script(Reply(status=503, body="busy"))

    with pytest.raises(ServiceUnavailableError):
        edge(server, retry=RetryPolicy.no_retry()).predict(red_bgr())

    assert len(server.received) == 1


def test_retry_warning_has_no_secrets(
    server: ScriptServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(Reply(status=503, body=f"down {KEY}"))

    with caplog.at_level(logging.WARNING), pytest.raises(ServiceUnavailableError):
        cloud(server).predict(red_bgr())

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == FAST.max_attempts - 1
    assert all(KEY not in r.getMessage() for r in warnings)
    assert all(isinstance(r.args, tuple) and r.args for r in warnings)


def test_retry_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)

"""Metadata, credentials, redaction and the exception hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.exceptions import (
    HttpError,
    InvalidApiKeyError,
    PredictConnectionError,
    PredictError,
    PredictTimeoutError,
    RateLimitExceededError,
    ServiceUnavailableError,
)
from streamer.predict import InferenceMetadata, load_api_credential
from streamer.predict._http import error_for_status, parse_retry_after
from streamer.redact import redact_text, redact_url

KEY = "land_sk_abcdefghijklmnop"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_id": "a", "location_id": "l"},
        {"imageId": "a", "locationId": "l"},
    ],
)
def test_metadata_accepts_both_spellings(kwargs: dict[str, str]) -> None:
    meta = InferenceMetadata(**kwargs)

    assert meta.to_wire() == (
        '{"image_id":"a","inspection_station_id":"","location_id":"l",'
        '"capture_timestamp":""}'
    )


def test_key_from_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDINGAI_API_KEY", "land_sk_env")

    assert load_api_credential(KEY) == KEY


def test_key_from_env_then_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LANDINGAI_API_KEY", raising=False)
    (tmp_path / ".env").write_text("LANDINGAI_API_KEY=land_sk_dotenv\n")

    assert load_api_credential() == "land_sk_dotenv"
    monkeypatch.setenv("landingai_api_key", "land_sk_env")
    assert load_api_credential() == "land_sk_env"


def test_missing_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LANDINGAI_API_KEY", raising=False)

    with pytest.raises(InvalidApiKeyError, match="not provided"):
        load_api_credential()


def test_wrong_key_is_masked() -> None:
    secret = "sk_live_supersecretvalue"

    with pytest.raises(InvalidApiKeyError) as info:
        load_api_credential(secret)

    assert secret not in str(info.value)
    assert "supersecret" not in str(info.value)


def test_exception_hierarchy() -> None:
    assert issubclass(PredictConnectionError, ConnectionError)
    assert issubclass(PredictConnectionError, PredictError)
    assert issubclass(PredictTimeoutError, TimeoutError)


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (301, "UnexpectedRedirectError"),
        (400, "ClientError"),
        (401, "UnauthorizedError"),
        (403, "PermissionDeniedError"),
        (404, "BadRequestError"),
        (413, "ClientError"),
        (422, "BadRequestError"),
        (429, "RateLimitExceededError"),
        (500, "InternalServerError"),
        (502, "ServiceUnavailableError"),
        (503, "ServiceUnavailableError"),
        (504, "ServiceUnavailableError"),
        (599, "InternalServerError"),
    ],
)
def test_status_mapping(status: int, name: str) -> None:
    error = error_for_status(status, "detail text", "http://127.0.0.1/x")

    assert type(error).__name__ == name
    assert isinstance(error, HttpError)
    assert error.status_code == status
    assert "detail text" in str(error) and f"HTTP {status}" in str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_for_status(429, "", "u", retry_after=3.0)

    assert isinstance(error, RateLimitExceededError)
    assert error.retry_after == 3.0
    assert not isinstance(error_for_status(503, "", "u"), RateLimitExceededError)
    assert isinstance(error_for_status(503, "", "u"), ServiceUnavailableError)


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("1", 1.0, 1.0),
        ("2.5", 2.5, 2.5),
        ("-3", 0.0, 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.0),
        (None, None, None),
        ("soon", None, None),
    ],
)
def test_parse_retry_after(
    value: str | None, low: float | None, high: float | None
) -> None:
    result = parse_retry_after(value)

    if low is None:
        assert result is None
    else:
        assert result is not None and low <= result <= (high or 0) + 1e-9


def test_parse_retry_after_future_date() -> None:
    import time
    from email.utils import formatdate

    result = parse_retry_after(formatdate(time.time() + 30, usegmt=True))

    assert result is not None and 28 <= result <= 31


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/images", "http://127.0.0.1:8000/images"),
        ("rtsp://admin:hunter2@10.0.0.7/s1", "rtsp://admin:***@10.0.0.7/s1"),
        ("rtsp://admin:p%40ss%3Aw@cam/s", "rtsp://admin:***@cam/s"),
        ("http://h/p?token=abc&x=1", "http://h/p?token=***&x=1"),
        (
            "http://h/p?apikey=land_sk_1&endpoint_id=e",
            "http://h/p?apikey=***&endpoint_id=e",
        ),
        ("http://h/p?api_key=1&password=2", "http://h/p?api_key=***&password=***"),
        ("http://user@h/p", "http://user@h/p"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text() -> None:
    text = "key land_sk_a/b and land_sk_a%2Fb"

    assert redact_text(text, ["land_sk_a/b", None, ""]) == "key *** and ***"

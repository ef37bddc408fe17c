"""EdgePredictor, cloud Predictor and OcrPredictor: the `landingai.predict` clients.

Each instance owns one `requests.Session` and per-call state (`last_timings`,
metrics), so use one predictor per thread. `reuse_session=False` builds a fresh
session (and TCP connection) for a single call.
"""

from __future__ import annotations

import json
import logging
import platform
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import numpy.typing as npt
import requests
from PIL import Image

from streamer import __version__
from streamer.exceptions import PredictConnectionError
from streamer.predict._credentials import load_api_credential
from streamer.predict._http import DEFAULT_TIMEOUT, Attempt, new_session
from streamer.predict._models import InferenceMetadata, Prediction
from streamer.predict._parse import parse_cloud, parse_edge, parse_latency, parse_ocr
from streamer.predict._retry import RetryPolicy
from streamer.predict._serialize import (
    DEFAULT_JPEG_QUALITY,
    ColorOrder,
    serialize_image,
    serialize_rois,
)
from streamer.redact import redact_url

__all__ = [
    "CLOUD_PREDICT_URL",
    "OCR_URL",
    "EdgePredictor",
    "OcrPredictor",
    "Predictor",
]

logger = logging.getLogger(__name__)

CLOUD_PREDICT_URL = "https://predict.app.landing.ai/inference/v1/predict"
OCR_URL = "https://app.landing.ai/ocr/v1/detect-text"
READY_CHECK_TIMEOUT_S = 1.0

ImageInput = npt.NDArray[Any] | Image.Image | bytes
MetadataInput = InferenceMetadata | Mapping[str, Any] | None


def _check_reachable(url: str, message: str) -> None:
    """Open and close a TCP connection to the URL's host and port (IPv4 or IPv6).

    Raises:
        PredictConnectionError: No address of the host accepted within 1 s.
    """
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    host, port = parts.hostname or "", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=READY_CHECK_TIMEOUT_S):
            pass
    except OSError as exc:
        raise PredictConnectionError(message) from exc


def _metadata_json(metadata: MetadataInput) -> str | None:
    """Validate metadata given as a model or a dict; return its wire JSON."""
    if metadata is None:
        return None
    if not isinstance(metadata, InferenceMetadata):
        metadata = InferenceMetadata.model_validate(dict(metadata))
    return metadata.to_wire()


def _keyed_headers(key: str, telemetry: dict[str, str]) -> dict[str, str]:
    """The session headers of the LandingLens cloud services."""
    return {
        "contentType": "multipart/form-data",
        "apikey": key,
        "X-event": _telemetry_header(telemetry),
    }


def _telemetry_header(properties: Mapping[str, str]) -> str:
    """The `X-event` header the cloud service reads, built per instance."""
    return json.dumps(
        {
            "event": "inference",
            "action": "POST",
            "properties": {
                "lib_type": "streamer",
                "lib_version": __version__,
                "python_version": platform.python_version(),
                "os": platform.platform(),
                "runtime": "streamer",
                **properties,
            },
        }
    )


class Predictor:
    """Client of the LandingLens cloud inference endpoint.

    Args:
        endpoint_id: The deployed endpoint's ID, sent as the `endpoint_id` query
            parameter.
        api_key: A `land_sk_` key; else `LANDINGAI_API_KEY`, else `.env`.
        check_server_ready: Open a TCP connection to the URL's host first.
        url: The predict URL; the public LandingLens URL by default.
        timeout: `(connect_s, read_s)` passed to every request.
        retry: Retry policy; `RetryPolicy()` by default (see docs/predict.md).
        stop_event: When set, pending retries stop with `ShutdownRequested`.
        color_order: Channel order of numpy images, `"RGB"` or `"BGR"`.
        image_format: `"JPEG"`, `"PNG"` or `"BMP"`; None picks JPEG (PNG for
            images with alpha; env `DEFAULT_IMAGE_SERIALIZATION_FORMAT` for arrays).
        jpeg_quality: JPEG quality, default 90.

    Raises:
        InvalidApiKeyError: No key was found or it does not start with `land_sk_`.
        PredictConnectionError: `check_server_ready` and the host is unreachable.
    """

    def __init__(
        self,
        endpoint_id: str,
        *,
        api_key: str | None = None,
        check_server_ready: bool = True,
        url: str = CLOUD_PREDICT_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        stop_event: threading.Event | None = None,
        color_order: ColorOrder = "RGB",
        image_format: str | None = None,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    ) -> None:
        key = load_api_credential(api_key)
        self._endpoint_id = endpoint_id
        self._setup(
            url,
            _keyed_headers(
                key, {"endpoint_id": endpoint_id, "model_type": "fast_and_easy"}
            ),
            timeout=timeout,
            retry=retry or RetryPolicy(),
            stop_event=stop_event,
            color_order=color_order,
            image_format=image_format,
            jpeg_quality=jpeg_quality,
            secrets=(key,),
        )
        if check_server_ready:
            _check_reachable(
                url,
                "Failed to connect to the cloud inference service. Check that "
                f"{self._safe_url} is accessible from this device",
            )

    def _setup(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: tuple[float, float],
        retry: RetryPolicy,
        stop_event: threading.Event | None,
        color_order: ColorOrder,
        image_format: str | None,
        jpeg_quality: int,
        secrets: tuple[str, ...] = (),
    ) -> None:
        """Store the transport settings shared by every predictor kind."""
        self._url = url
        self._safe_url = redact_url(url)
        self._headers = dict(headers)
        self._timeout = timeout
        self._retry = retry
        self._stop_event = stop_event
        self._color_order: ColorOrder = color_order
        self._image_format = image_format
        self._jpeg_quality = jpeg_quality
        self._secrets = secrets
        self._session = new_session(self._headers)
        self._metrics: dict[str, float] = {}
        self.last_timings: dict[str, float] = {}
        """Seconds spent in `encode_s`, `request_s` (with retries), `parse_s`."""

    @property
    def url(self) -> str:
        """The request URL with any secrets removed."""
        return self._safe_url

    def predict(
        self,
        image: ImageInput,
        metadata: MetadataInput = None,
        reuse_session: bool = True,
        **kwargs: Any,
    ) -> list[Prediction]:
        """Send one image and return the server's predictions.

        Args:
            image: numpy array (see `color_order`), PIL image, or the bytes of
                an image already encoded (by `encode`, say), sent as they are.
            metadata: `InferenceMetadata` or a dict of its fields.
            reuse_session: False sends over a fresh session and connection.
            **kwargs: Predictor-specific options (OCR: `mode`,
                `regions_of_interest`); others are ignored.

        Raises:
            PredictError: A subclass describing what failed.
        """
        started = time.monotonic()
        payload = image if isinstance(image, bytes) else self.encode(image)
        attempt = self._attempt(payload, _metadata_json(metadata), kwargs)
        encoded = time.monotonic()
        reply = self._send(attempt, reuse_session)
        sent = time.monotonic()
        predictions = self._parse(reply)
        self._metrics = parse_latency(reply)
        parsed = time.monotonic()
        self.last_timings = {
            "encode_s": encoded - started,
            "request_s": sent - encoded,
            "parse_s": parsed - sent,
        }
        return predictions

    def encode(self, image: npt.NDArray[Any] | Image.Image) -> bytes:
        """The bytes `predict` would send for ``image`` (this predictor's settings)."""
        return serialize_image(
            image,
            format=self._image_format,
            quality=self._jpeg_quality,
            color_order=self._color_order,
        )

    def get_metrics(self) -> dict[str, float]:
        """The server's `latency` block of the last reply, or `{}`."""
        return dict(self._metrics)

    def close(self) -> None:
        """Close the session and its pooled connections."""
        self._session.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _attempt(
        self, payload: bytes, metadata: str | None, options: Mapping[str, Any]
    ) -> Attempt:
        """Describe the request for this predictor kind."""
        data = {"metadata": metadata} if metadata is not None else {}
        return self._make_attempt(
            {"file": ("file", payload)}, data, {"endpoint_id": self._endpoint_id}
        )

    def _make_attempt(
        self,
        files: Mapping[str, tuple[str, bytes]],
        data: Mapping[str, str],
        params: Mapping[str, str],
    ) -> Attempt:
        """Bind the form parts to this predictor's URL and timeout."""
        return Attempt(
            url=self._url,
            files=files,
            data=data,
            params=params,
            timeout=self._timeout,
            secrets=self._secrets,
        )

    def _send(self, attempt: Attempt, reuse_session: bool) -> Any:
        """Send with retries on the shared session or a fresh one."""
        if reuse_session:
            return self._call(attempt, self._session)
        session = new_session(self._headers)
        try:
            return self._call(attempt, session)
        finally:
            session.close()

    def _call(self, attempt: Attempt, session: requests.Session) -> Any:
        """Run the retry policy around one request; return the JSON body."""
        reply = self._retry.call(
            lambda: attempt.send(session),
            target=self._safe_url,
            stop_event=self._stop_event,
        )
        return reply.body

    def _parse(self, body: Any) -> list[Prediction]:
        """Turn the reply body into predictions."""
        return parse_cloud(body)


class EdgePredictor(Predictor):
    """Client of a LandingEdge (or `streamer serve`) server: `POST /images`.

    Args:
        host: Server host name or IP (IPv6 literals allowed).
        port: Server port.
        check_server_ready: Open a TCP connection first (1 s timeout).
        timeout: `(connect_s, read_s)` passed to every request.
        retry: Retry policy; `RetryPolicy.edge_default()` by default (3 attempts,
            short waits); `RetryPolicy.no_retry()` behaves like `landingai`.
        stop_event: When set, pending retries stop with `ShutdownRequested`.
        color_order: Channel order of numpy images; `"BGR"` for OpenCV frames.
        image_format: `"JPEG"`, `"PNG"` or `"BMP"`; None picks JPEG.
        jpeg_quality: JPEG quality, default 90.

    Raises:
        PredictConnectionError: `check_server_ready` and nothing listens there.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 8000,
        check_server_ready: bool = True,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        stop_event: threading.Event | None = None,
        color_order: ColorOrder = "RGB",
        image_format: str | None = None,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    ) -> None:
        netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
        url = f"http://{netloc}:{port}/images"
        self._setup(
            url,
            {"contentType": "multipart/form-data"},
            timeout=timeout,
            retry=retry or RetryPolicy.edge_default(),
            stop_event=stop_event,
            color_order=color_order,
            image_format=image_format,
            jpeg_quality=jpeg_quality,
        )
        if check_server_ready:
            _check_reachable(
                url,
                "Failed to connect to the model server. Please check if the server "
                f"is running and the connection url ({self._safe_url}).",
            )

    def _attempt(
        self, payload: bytes, metadata: str | None, options: Mapping[str, Any]
    ) -> Attempt:
        data = {"metadata": metadata} if metadata is not None else {}
        return self._make_attempt({"file": ("file", payload)}, data, {})

    def _parse(self, body: Any) -> list[Prediction]:
        return parse_edge(body)


class OcrPredictor(Predictor):
    """Client of the LandingLens OCR service.

    Predictions with a score below `threshold` are dropped on the client.
    `predict` accepts `mode` (`"multi-text"` default or `"single-text"`) and
    `regions_of_interest` (4-point quadrilaterals; required for single-text).
    `metadata` is accepted and not sent: the OCR service has no such field.

    Args:
        threshold: Minimum score kept, default 0.5.
        language: `"ch"` (Chinese and English, default) or `"en"`.
        api_key: A `land_sk_` key; else `LANDINGAI_API_KEY`, else `.env`.
        url: The OCR URL; the public LandingLens URL by default.
        timeout, retry, stop_event, color_order, image_format, jpeg_quality: As
            for `Predictor`.
    """

    def __init__(
        self,
        threshold: float = 0.5,
        *,
        language: str = "ch",
        api_key: str | None = None,
        url: str = OCR_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        stop_event: threading.Event | None = None,
        color_order: ColorOrder = "RGB",
        image_format: str | None = None,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    ) -> None:
        if language not in ("ch", "en"):
            raise ValueError(f"OCR language must be 'ch' or 'en', got {language!r}")
        key = load_api_credential(api_key)
        self._threshold = threshold
        self._language = language
        self._setup(
            url,
            _keyed_headers(key, {"model_type": "ocr"}),
            timeout=timeout,
            retry=retry or RetryPolicy(),
            stop_event=stop_event,
            color_order=color_order,
            image_format=image_format,
            jpeg_quality=jpeg_quality,
            secrets=(key,),
        )

    def _attempt(
        self, payload: bytes, metadata: str | None, options: Mapping[str, Any]
    ) -> Attempt:
        data = {"language": self._language}
        rois = _ocr_rois(options)
        if rois is not None:
            data["rois"] = rois
        return self._make_attempt({"images": ("images", payload)}, data, {})

    def _parse(self, body: Any) -> list[Prediction]:
        return parse_ocr(body, self._threshold)


def _ocr_rois(options: Mapping[str, Any]) -> str | None:
    """Validate `mode` and `regions_of_interest`; return the `rois` JSON or None."""
    mode = options.get("mode", "multi-text")
    if mode not in ("multi-text", "single-text"):
        raise ValueError(
            f"OCR mode must be 'multi-text' or 'single-text', got {mode!r}"
        )
    rois = options.get("regions_of_interest") or []
    if mode == "single-text" and not rois:
        raise ValueError("OCR mode 'single-text' needs regions_of_interest")
    return serialize_rois(rois, mode) if rois else None

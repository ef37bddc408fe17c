"""Connecting a run to its inference server.

Starts the embedded server when the config asks for one, checks that the
server can be reached before any frame is read, and builds one predictor for
each worker thread.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from streamer.config import PredictorConfig
from streamer.exceptions import ConfigError, PredictError
from streamer.redact import redact_url

logger = logging.getLogger(__name__)


class InferenceTarget:
    """Where a run's predictors send frames, and the embedded server if any."""

    def __init__(
        self, config: PredictorConfig, stop: threading.Event | None = None
    ) -> None:
        self.config = config
        self._stop = stop or threading.Event()
        self.host = config.host
        self.port = config.port
        self._server: Any = None
        if config.kind != "edge":
            self.host, self.port = _host_port(config.url or _default_url(config.kind))

    def __enter__(self) -> InferenceTarget:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the embedded server if asked, then wait for the server."""
        serve = self.config.serve
        if serve is not None and self.config.kind == "edge":
            from streamer.server import EmbeddedServer

            self._server = EmbeddedServer(
                serve.model, host="127.0.0.1", port=serve.port, delay_ms=serve.delay_ms
            )
            self._server.start()
            self.host, self.port = "127.0.0.1", self._server.port
            logger.info("embedded %s server listening on %s", serve.model, self.url)
        self._wait_until_reachable()

    def stop(self) -> None:
        """Stop the embedded server if this run started one."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        """The inference URL frames are sent to, without secrets."""
        if self.config.kind != "edge":
            return redact_url(self.config.url or _default_url(self.config.kind))
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/images"

    def check_predictor(self, stop: threading.Event) -> None:
        """Build one predictor now, so a bad API key fails the run at once."""
        predictor = self.predictor_factory(stop)()
        close = getattr(predictor, "close", None)
        if callable(close):
            close()

    def _wait_until_reachable(self) -> None:
        deadline = time.monotonic() + self.config.wait_for_server_s
        announced = False
        while not _can_connect(self.host, self.port):
            if time.monotonic() >= deadline:
                raise PredictError(self._unreachable_message())
            if not announced:
                logger.warning("waiting for the inference server at %s", self.url)
                announced = True
            if self._stop.wait(0.5):
                raise PredictError(
                    f"stopped while waiting for the inference server at {self.url}"
                )

    def _unreachable_message(self) -> str:
        url = redact_url(self.url)
        if self.config.kind != "edge":
            return (
                f"cannot reach the inference service at {url}; check the network "
                "and predictor.url, or set predictor.wait_for_server_s to wait for it"
            )
        return (
            f"cannot reach the inference server at {url}; start one "
            f"(streamer serve --model people --port {self.port}), fix "
            "predictor.host and predictor.port, or set predictor.wait_for_server_s"
        )

    def predictor_factory(self, stop: threading.Event) -> Callable[[], Any]:
        """A function that builds one predictor; each worker calls it once."""
        from streamer import predict
        from streamer.predict._predictors import CLOUD_PREDICT_URL, OCR_URL

        cfg = self.config
        retry = _retry_policy(cfg)
        timeout = (cfg.connect_timeout_s, cfg.read_timeout_s)
        api_key = cfg.api_key.get_secret_value() if cfg.api_key else None

        def build() -> Any:
            common: dict[str, Any] = {
                "timeout": timeout,
                "retry": retry,
                "stop_event": stop,
                "color_order": "BGR",
                "image_format": cfg.image_format,
                "jpeg_quality": cfg.jpeg_quality,
            }
            if cfg.kind == "cloud":
                return predict.Predictor(
                    cfg.endpoint_id or "",
                    api_key=api_key,
                    check_server_ready=False,
                    url=cfg.url or CLOUD_PREDICT_URL,
                    **common,
                )
            if cfg.kind == "ocr":
                return predict.OcrPredictor(
                    cfg.threshold,
                    language=cfg.language,
                    api_key=api_key,
                    url=cfg.url or OCR_URL,
                    **common,
                )
            return predict.EdgePredictor(
                self.host, self.port, check_server_ready=False, **common
            )

        return build


def _retry_policy(cfg: PredictorConfig) -> Any:
    """The edge or cloud retry policy, with the config's attempts and 429 budget."""
    from streamer.predict import RetryPolicy

    base = RetryPolicy.edge_default() if cfg.kind == "edge" else RetryPolicy()
    changes: dict[str, Any] = {"max_attempts": cfg.max_attempts}
    if cfg.rate_limit_budget_s is not None:
        changes["rate_limit_budget_s"] = cfg.rate_limit_budget_s
    return dataclasses.replace(base, **changes)


def _default_url(kind: str) -> str:
    from streamer.predict._predictors import CLOUD_PREDICT_URL, OCR_URL

    return OCR_URL if kind == "ocr" else CLOUD_PREDICT_URL


def _host_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError as exc:
        raise ConfigError(
            f"predictor.url {redact_url(url)} has an invalid port"
        ) from exc
    if not parts.hostname:
        raise ConfigError(
            f"predictor.url {redact_url(url)} has no host; give a full URL"
        )
    return parts.hostname, port


def _can_connect(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False

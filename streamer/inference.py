"""Connecting a run to its inference server.

Starts the embedded server when the config asks for one, checks that the
server can be reached before any frame is read, and builds one predictor for
each worker thread.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from streamer.config import PredictorConfig
from streamer.exceptions import PredictError
from streamer.redact import redact_url

logger = logging.getLogger(__name__)


class InferenceTarget:
    """Where a run's predictors send frames, and the embedded server if any."""

    def __init__(self, config: PredictorConfig) -> None:
        self.config = config
        self.host = config.host
        self.port = config.port
        self._server: Any = None

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
        if self.config.kind == "edge":
            self._wait_until_reachable()

    def stop(self) -> None:
        """Stop the embedded server if this run started one."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        """The edge server's inference URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/images"

    def _wait_until_reachable(self) -> None:
        deadline = time.monotonic() + self.config.wait_for_server_s
        announced = False
        while not _can_connect(self.host, self.port):
            if time.monotonic() >= deadline:
                raise PredictError(
                    f"cannot reach the inference server at {redact_url(self.url)}; "
                    "start one (streamer serve --model people --port "
                    f"{self.port}) or fix predictor.host and predictor.port"
                )
            if not announced:
                logger.warning("waiting for the inference server at %s", self.url)
                announced = True
            time.sleep(0.5)

    def predictor_factory(self, stop: threading.Event) -> Callable[[], Any]:
        """A function that builds one predictor; each worker calls it once."""
        from streamer import predict

        cfg = self.config
        options: dict[str, Any] = {
            "timeout": (cfg.connect_timeout_s, cfg.read_timeout_s),
            "retry": predict.RetryPolicy(max_attempts=cfg.max_attempts),
            "stop_event": stop,
            "color_order": "BGR",
            "image_format": cfg.image_format,
            "jpeg_quality": cfg.jpeg_quality,
        }
        api_key = cfg.api_key.get_secret_value() if cfg.api_key else None
        url_option = {"url": cfg.url} if cfg.url else {}

        def build() -> Any:
            if cfg.kind == "cloud":
                return predict.Predictor(
                    cfg.endpoint_id or "",
                    api_key=api_key,
                    check_server_ready=False,
                    **url_option,
                    **options,
                )
            if cfg.kind == "ocr":
                return predict.OcrPredictor(
                    cfg.threshold,
                    language=cfg.language,
                    api_key=api_key,
                    **url_option,
                    **options,
                )
            return predict.EdgePredictor(
                self.host, self.port, check_server_ready=False, **options
            )

        return build


def _can_connect(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False

"""The FastAPI app that answers ``POST /images`` as LandingEdge does.

Routes:

- ``POST /images``: multipart form with an image in the ``file`` part and an
  optional ``metadata`` JSON text part; answers with the model's prediction
  in LandingEdge JSON (see :mod:`streamer.server.responses`).
- ``GET /health`` and ``GET /status``: the model name, process id, request
  counts and uptime.

Client mistakes get a 4xx status and a JSON ``detail`` sentence; an
unexpected failure gets a 500 with a JSON ``detail`` sentence, never a
traceback page.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Annotated, Any, cast

import cv2
import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from streamer.server.models import Model
from streamer.server.models.base import Image
from streamer.server.responses import build_body, parse_metadata

logger = logging.getLogger(__name__)

_EMPTY: Image = np.zeros((0, 0, 3), dtype=np.uint8)
_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"BM",
    b"GIF8",
    b"II*\x00",  # TIFF, little endian
    b"MM\x00*",  # TIFF, big endian
    b"RIFF",  # WebP
)


class _Counters:
    """Request counts shared by the worker threads."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.ok = 0
        self.failed = 0
        self._lock = threading.Lock()

    def count(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1


class _ArrivalTime:
    """ASGI middleware that stamps each request's arrival for ``waiting_s``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrival"] = time.perf_counter()
        await self.app(scope, receive, send)


def create_app(model: Model) -> FastAPI:
    """Build the app serving ``model``.

    Args:
        model: The model that answers every ``POST /images``.

    Returns:
        The FastAPI application.
    """
    app = FastAPI(title="streamer embedded inference server", docs_url=None)
    app.add_middleware(_ArrivalTime)
    counters = _Counters()
    _add_error_handlers(app, counters)

    @app.post("/images")
    def images(
        request: Request,
        file: Annotated[UploadFile | None, File()] = None,
        metadata: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        body = _predict(model, request, file, metadata)
        counters.count(ok=True)
        return JSONResponse(body)

    @app.get("/health")
    @app.get("/status")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": model.name,
            "pid": os.getpid(),
            "requests": counters.ok + counters.failed,
            "failed": counters.failed,
            "uptime_s": round(time.monotonic() - counters.started, 3),
        }

    return app


def _predict(
    model: Model, request: Request, file: UploadFile | None, metadata: str | None
) -> dict[str, Any]:
    begin = time.perf_counter()
    arrival = getattr(request.state, "arrival", begin)
    if file is None:
        raise HTTPException(
            422, "The form has no 'file' part; post the image as 'file'."
        )
    try:
        echo = parse_metadata(metadata)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc

    image = _decode(file, model.needs_pixels)
    decoding_s = time.perf_counter() - begin

    prediction = model.predict(image)
    build_start = time.perf_counter()
    times = prediction.times
    latency = {
        "preprocess_s": times.preprocess_s,
        "infer_s": times.infer_s,
        "postprocess_s": times.postprocess_s,
        "decoding_s": decoding_s,
        "waiting_s": begin - arrival + times.waiting_s,
    }
    body = build_body(prediction, echo, latency)
    latency["postprocess_s"] += time.perf_counter() - build_start
    for key, seconds in latency.items():
        latency[key] = round(seconds, 6)
    return body


def _decode(file: UploadFile, needs_pixels: bool) -> Image:
    data = file.file.read()
    if not data:
        raise HTTPException(400, "The 'file' part is empty; post an encoded image.")
    if not needs_pixels:
        if not data.startswith(_MAGIC):
            raise HTTPException(400, _not_an_image(len(data)))
        return _EMPTY

    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise HTTPException(400, _not_an_image(len(data)))
    return cast(Image, image)


def _not_an_image(size: int) -> str:
    return (
        f"The 'file' part ({size} bytes) is not a decodable image; "
        "post a JPEG, PNG or BMP file."
    )


def _add_error_handlers(app: FastAPI, counters: _Counters) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        counters.count(ok=False)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        counters.count(ok=False)
        return JSONResponse({"detail": _describe(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        counters.count(ok=False)
        logger.error("Request to %s failed", request.url.path, exc_info=exc)
        return JSONResponse(
            {"detail": f"The server failed on this request: {type(exc).__name__}."},
            status_code=500,
        )


def _describe(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "The request is invalid; post a multipart form with a 'file' part."
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"The request is invalid at {where}: {first.get('msg', 'bad value')}."

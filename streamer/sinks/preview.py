"""A live view of the annotated stream in the browser.

Routes: ``/`` (the page), ``/stream.mjpg`` (MJPEG, ``multipart/x-mixed-replace``),
``/frame.jpg`` (the latest frame), ``/status`` (live figures as JSON) and
``/metrics`` (Prometheus text).

The server is the standard library's ``ThreadingHTTPServer`` rather than
uvicorn: each viewer gets a plain thread that waits on the latest-frame slot,
so nothing bridges the pipeline's threads into an event loop, and ``close``
stops it deterministically (uvicorn waits for open streaming responses). The
pipeline only stores a reference to the newest frame; JPEG encoding happens in
the viewers' threads, at most ``max_fps`` times a second and once per frame
however many viewers there are. With nobody watching the sink asks for no
annotated pictures at all.
"""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
import time
from typing import Any

import cv2

from streamer.config import PreviewSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Image, Result, Status
from streamer.metrics import CONTENT_TYPE_LATEST, RunMetrics
from streamer.sinks._page import PAGE
from streamer.sources.base import SourceInfo

logger = logging.getLogger(__name__)

BOUNDARY = "frame"
#: How long a streaming viewer waits for a new frame before checking for close.
WAIT_S = 0.5


class FrameSlot:
    """The newest annotated frame and its JPEG, encoded on demand."""

    def __init__(self, max_fps: float, quality: int) -> None:
        self._min_interval = 1.0 / max_fps
        self._quality = quality
        self._cond = threading.Condition()
        self._image: Image | None = None
        self._seq = 0
        self._jpeg: bytes | None = None
        self._jpeg_seq = -1
        self._encoded_at = 0.0
        self.encoded = 0

    def put(self, image: Image) -> None:
        """Keep ``image`` as the newest frame (no copy, no encoding)."""
        with self._cond:
            self._image = image
            self._seq += 1
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiting viewer (used on close)."""
        with self._cond:
            self._cond.notify_all()

    def latest(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """Wait up to ``timeout`` for a frame newer than ``after``; return its JPEG.

        Encoding happens outside the lock, so ``put`` never waits for it.
        """
        with self._cond:
            fresh = self._cond.wait_for(lambda: self._seq > after, timeout=timeout)
            if not fresh or self._image is None:
                return after, None
            wait = self._encoded_at + self._min_interval - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, self._min_interval))
        return self._encode_newest()

    def _encode_newest(self) -> tuple[int, bytes | None]:
        with self._cond:
            seq, image = self._seq, self._image
            if seq == self._jpeg_seq or image is None:
                return seq, self._jpeg
        ok, data = cv2.imencode(
            ".jpg", image, params=[cv2.IMWRITE_JPEG_QUALITY, self._quality]
        )
        jpeg = data.tobytes() if ok else None
        self.encoded += 1
        with self._cond:
            if seq > self._jpeg_seq:
                self._jpeg, self._jpeg_seq = jpeg, seq
                self._encoded_at = time.monotonic()
        return seq, jpeg


class PreviewSink:
    """Serves the annotated stream, live figures and metrics over HTTP."""

    def __init__(self, config: PreviewSinkConfig) -> None:
        self.config = config
        self.metrics = RunMetrics()
        self.slot = FrameSlot(config.max_fps, config.jpeg_quality)
        self.closed = threading.Event()
        self.source_name = ""
        self.port: int | None = None
        self._viewers = 0
        self._viewers_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def needs_image(self) -> bool:
        """Annotated pictures are needed only while someone watches."""
        return self._viewers > 0

    @property
    def url(self) -> str | None:
        """The page's address once the server listens."""
        return None if self.port is None else f"http://{self.config.host}:{self.port}/"

    def attach(self, metrics: RunMetrics) -> None:
        """Use the run's metrics for ``/status`` and ``/metrics``."""
        self.metrics = metrics

    def open(self, info: SourceInfo) -> None:
        """Start the server in its own thread."""
        try:
            server = _Server((self.config.host, self.config.port), self)
        except OSError as exc:
            raise SinkError(
                f"cannot serve the preview on {self.config.host}:{self.config.port}: "
                f"{exc.strerror}; choose another port (0 picks a free one)"
            ) from exc
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="preview",
            daemon=True,
        )
        self._thread.start()
        logger.info("preview at %s", self.url)

    def write(self, result: Result, annotated: Image | None) -> None:
        """Offer the frame to viewers; never blocks on them."""
        self.source_name = result.frame.source_id
        if result.status is Status.DROPPED or annotated is None:
            return
        self.slot.put(annotated)

    def status(self) -> dict[str, Any]:
        """The live figures shown on the page."""
        return {
            "source": self.source_name,
            **self.metrics.snapshot(),
            "viewers": self._viewers,
        }

    def viewer(self, delta: int) -> None:
        """Count a viewer arriving (+1) or leaving (-1)."""
        with self._viewers_lock:
            self._viewers += delta

    def close(self) -> None:
        """Stop the server and end every open stream."""
        self.closed.set()
        self.slot.wake()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._server = None
        logger.info("preview stopped")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], sink: PreviewSink) -> None:
        self.sink = sink
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A viewer that goes away mid-reply is routine, not a traceback."""
        logger.debug("preview request from %s failed", client_address, exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Replies go out in one write, but a stream's parts should not wait
        # for delayed ACKs either.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        sink = self.server.sink
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._reply(200, "text/html; charset=utf-8", PAGE.encode())
        elif path == "/status":
            body = json.dumps(sink.status()).encode()
            self._reply(200, "application/json", body)
        elif path == "/metrics":
            self._reply(200, CONTENT_TYPE_LATEST, sink.metrics.exposition())
        elif path == "/frame.jpg":
            self._frame(sink)
        elif path == "/stream.mjpg":
            self._stream(sink)
        else:
            self._reply(404, "text/plain", b"not found\n")

    def _reply(self, code: int, content_type: str, body: bytes) -> None:
        head = (
            f"HTTP/1.1 {code} {self.responses[code][0]}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n\r\n"
        )
        self.wfile.write(head.encode() + body)

    def _frame(self, sink: PreviewSink) -> None:
        sink.viewer(+1)
        try:
            _, jpeg = sink.slot.latest(after=-1, timeout=2.0)
        finally:
            sink.viewer(-1)
        if jpeg is None:
            self._reply(503, "text/plain", b"no frame yet\n")
        else:
            self._reply(200, "image/jpeg", jpeg)

    def _stream(self, sink: PreviewSink) -> None:
        self.close_connection = True
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nConnection: close\r\n"
            b"Content-Type: multipart/x-mixed-replace; boundary="
            + BOUNDARY.encode()
            + b"\r\n\r\n"
        )
        sink.viewer(+1)
        try:
            self._send_parts(sink)
        except OSError:
            logger.debug("a preview viewer went away")
        finally:
            sink.viewer(-1)

    def _send_parts(self, sink: PreviewSink) -> None:
        seq = 0
        while not sink.closed.is_set():
            seq, jpeg = sink.slot.latest(after=seq, timeout=WAIT_S)
            if jpeg is None:
                continue
            part = (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(jpeg)}\r\n\r\n"
            ).encode()
            self.wfile.write(part + jpeg + b"\r\n")

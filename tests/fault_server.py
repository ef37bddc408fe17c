"""A loopback inference server that fails a seeded share of requests, every way.

It answers ``POST /images`` as LandingEdge does, with one empty-ish object
detection, and fails ``fault_rate`` of the requests, chosen by a seeded random
generator, cycling through the kinds of failure a real deployment shows.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = json.dumps(
    {
        "type": "ObjectDetectionPrediction",
        "predictions": {
            "b8c0a1f2-0000-4000-8000-000000000001": {
                "score": 0.9,
                "labelIndex": 1,
                "labelName": "person",
                "defectId": 1,
                "coordinates": {"xmin": 10, "ymin": 20, "xmax": 60, "ymax": 120},
            }
        },
        "metadata": {},
    }
).encode()

FAULTS = (
    "http_500",
    "http_502_html",
    "http_503",
    "http_429",
    "read_timeout",
    "invalid_json",
    "wrong_shape",
    "html_200",
    "reset",
)


class FaultServer:
    """A threaded HTTP server on 127.0.0.1 that fails some requests on purpose."""

    def __init__(
        self,
        fault_rate: float = 0.3,
        seed: int = 1234,
        delay_s: float = 0.0,
        timeout_sleep_s: float = 1.5,
        faults: tuple[str, ...] = FAULTS,
        port: int = 0,
        ok_body: bytes = OK_BODY,
    ) -> None:
        self.ok_body = ok_body
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.fault_rate = fault_rate
        self.delay_s = delay_s
        self.timeout_sleep_s = timeout_sleep_s
        self.faults = faults
        self.served: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._cycle = 0
        self._handlers: set[BaseHTTPRequestHandler] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop as a killed server would: open connections are cut too."""
        self._httpd.shutdown()
        self._httpd.server_close()
        for handler in list(self._handlers):
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)

    def next_action(self) -> str:
        with self._lock:
            if self._random.random() >= self.fault_rate:
                action = "ok"
            else:
                action = self.faults[self._cycle % len(self.faults)]
                self._cycle += 1
            self.served[action] += 1
            return action

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                server._handlers.add(self)

            def finish(self) -> None:
                server._handlers.discard(self)
                super().finish()

            def do_GET(self) -> None:
                self._reply(200, "application/json", b'{"status":"ok"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                server.requests.append((self.path, dict(self.headers)))
                if server.delay_s:
                    time.sleep(server.delay_s)
                action = server.next_action()
                getattr(self, f"_{action}")()

            def _reply(
                self, status: int, ctype: str, body: bytes, extra: str = ""
            ) -> None:
                head = (
                    f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\n{extra}\r\n"
                ).encode()
                self.wfile.write(head + body)
                self.wfile.flush()

            def _ok(self) -> None:
                self._reply(200, "application/json", server.ok_body)

            def _http_500(self) -> None:
                body = b'{"message":"Internal server error"}'
                self._reply(500, "application/json", body)

            def _http_401(self) -> None:
                body = (
                    b'{"errorCode":"UNAUTHORIZED","message":"Missing user record",'
                    b'"data":{}}'
                )
                self._reply(401, "application/json", body)

            def _http_502_html(self) -> None:
                body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                self._reply(502, "text/html", body)

            def _http_503(self) -> None:
                self._reply(503, "text/plain", b"503 Service Unavailable")

            def _http_429(self) -> None:
                self._reply(
                    429, "text/plain", b"429 Too Many Requests", "Retry-After: 1\r\n"
                )

            def _read_timeout(self) -> None:
                time.sleep(server.timeout_sleep_s)
                self._ok()

            def _invalid_json(self) -> None:
                self._reply(200, "application/json", b'{"type": "ObjectDetection')

            def _wrong_shape(self) -> None:
                self._reply(200, "application/json", b'{"type": 5, "predictions": []}')

            def _html_200(self) -> None:
                self._reply(200, "text/html", b"<html>maintenance</html>")

            def _reset(self) -> None:
                self.close_connection = True
                self.connection.close()

        return Handler

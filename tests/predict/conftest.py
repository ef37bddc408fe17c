"""A loopback HTTP server that replays scripted replies and records requests."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "landingai"


def fixture_text(name: str) -> str:
    """Read a recorded response; fails (never skips) when it is missing."""
    path = FIXTURES / name
    assert path.is_file(), f"recorded fixture {path} is missing"
    return path.read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    """Read and decode a recorded JSON response."""
    return json.loads(fixture_text(name))


@dataclass(frozen=True)
class Reply:
    """One scripted reply."""

    status: int = 200
    body: bytes | str | Any = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Received:
    """What the server saw of one request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    client_port: int

    def parts(self) -> dict[str, tuple[str | None, bytes]]:
        """Parse the multipart body: name -> (filename, content)."""
        raw = (
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + self.body
        )
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        assert message.is_multipart()
        parts: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            content = part.get_payload(decode=True)
            assert isinstance(name, str) and isinstance(content, bytes)
            parts[name] = (part.get_filename(), content)
        return parts

    def part_headers(self) -> dict[str, list[str]]:
        """Header names of each multipart part."""
        raw = (
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + self.body
        )
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        return {
            str(p.get_param("name", header="content-disposition")): list(p.keys())
            for p in message.iter_parts()
        }


Responder = Callable[[Received], Reply]


class _Server(ThreadingHTTPServer):
    """Threaded server with a listen backlog large enough for 16 clients."""

    request_queue_size = 128
    daemon_threads = True
    block_on_close = False


class ScriptServer:
    """Serves scripted replies in order; the last one repeats forever."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: deque[Reply] = deque([Reply()])
        self.responder: Responder | None = None
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/images") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script = deque(replies)

    def next_reply(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if self.responder is not None:
                return self.responder(request)
            return self._script.popleft() if len(self._script) > 1 else self._script[0]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                request = Received(
                    method="POST",
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers=dict(self.headers.items()),
                    body=body,
                    at=time.monotonic(),
                    client_port=int(self.client_address[1]),
                )
                reply = server.next_reply(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = reply.payload()
                head = [f"HTTP/1.1 {reply.status} X"]
                head.append(f"Content-Type: {reply.content_type}")
                head.append(f"Content-Length: {len(payload)}")
                head.extend(f"{k}: {v}" for k, v in reply.headers.items())
                data = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture
def server() -> Iterator[ScriptServer]:
    """A started loopback server, stopped after the test."""
    instance = ScriptServer()
    instance.start()
    yield instance
    instance.stop()

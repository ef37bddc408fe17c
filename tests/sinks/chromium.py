"""Debian's headless Chromium driven over the DevTools protocol (no download)."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from tests.helpers import require_tool
from tests.sinks.conftest import wait_until

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class Chromium:
    """One headless browser with one page, closed by ``close``."""

    def __init__(self, profile: Path) -> None:
        exe = require_tool("/usr/bin/chromium")
        self._id = 0
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        wait_until(port_file.exists, 30, "chromium's DevTools port")
        wait_until(lambda: port_file.read_text().count("\n") >= 1, 5, "the port")
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/json/list", timeout=10
        ) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=20, suppress_origin=True
        )

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        for _ in range(10_000):
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                assert "error" not in message, message["error"]
                result: dict[str, Any] = message["result"]
                return result
        raise AssertionError(f"no reply to {method}")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return reply["result"].get("value")

    def screenshot(self) -> bytes:
        """A PNG of the page as it is now."""
        return base64.b64decode(
            self.call("Page.captureScreenshot", format="png")["data"]
        )

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

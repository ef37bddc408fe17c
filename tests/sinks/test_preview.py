"""The preview sink: routes, cost without viewers, and a real browser."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamer.config import PreviewSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Frame, Result, Status
from streamer.sinks.preview import PreviewSink
from streamer.sources.base import SourceInfo
from tests.sinks.chromium import Chromium
from tests.sinks.conftest import (
    VTEST,
    RunningPipeline,
    StubPredictor,
    pipeline_config,
    wait_until,
)

FAMILIES = {
    "streamer_frames_produced",
    "streamer_frames",
    "streamer_frames_dropped_by_reason",
    "streamer_fps",
    "streamer_lag_seconds",
    "streamer_queue_depth",
    "streamer_in_flight",
    "streamer_stage_seconds",
    "streamer_source_state",
}


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        body: bytes = reply.read()
        return body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def image(index: int) -> np.ndarray:
    return np.full((48, 64, 3), index % 255, dtype=np.uint8)


def result(index: int) -> Result:
    frame = Frame(index, "cam", image(index), time.monotonic(), time.time(), index / 10)
    return Result(frame, Status.OK)


@pytest.fixture
def sink() -> Iterator[PreviewSink]:
    preview = PreviewSink(PreviewSinkConfig(kind="preview", port=0, max_fps=5))
    preview.open(SourceInfo(64, 48, 10.0))
    yield preview
    preview.close()


def test_nobody_watching_costs_no_encoding(sink: PreviewSink) -> None:
    for i in range(50):
        sink.write(result(i), image(i))
    assert not sink.needs_image
    assert sink.slot.encoded == 0


def test_routes(sink: PreviewSink) -> None:
    assert sink.url is not None
    sink.write(result(3), image(3))
    page = get(sink.url).decode()
    assert "/stream.mjpg" in page and "/status" in page
    status = json.loads(get(sink.url + "status"))
    assert status["source"] == "cam"
    jpeg = cv2.imdecode(np.frombuffer(get(sink.url + "frame.jpg"), np.uint8), 1)
    assert jpeg.shape == (48, 64, 3)
    with pytest.raises(urllib.error.HTTPError) as err:
        get(sink.url + "nope")
    assert err.value.code == 404
    err.value.close()


def test_stream_is_rate_limited(sink: PreviewSink) -> None:
    assert sink.url is not None
    parts = 0
    with urllib.request.urlopen(sink.url + "stream.mjpg", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        started = time.monotonic()
        index = 0
        while time.monotonic() - started < 1.0:
            index += 1
            sink.write(result(index), image(index))
            time.sleep(0.01)
            assert sink.needs_image
        sink.close()
        for line in reply:
            parts += line.startswith(b"--frame")
    # Five a second, once per frame however fast frames come.
    assert 2 <= parts <= 7, parts
    assert sink.slot.encoded <= 7


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        preview = PreviewSink(PreviewSinkConfig(kind="preview", port=port))
        with pytest.raises(SinkError, match=f"127.0.0.1:{port}.*choose another port"):
            preview.open(SourceInfo(64, 48, 10.0))


def test_metrics_reconcile_after_a_run(stub: StubPredictor, short_clip: Path) -> None:
    config = pipeline_config(str(short_clip), stub.port, "  - {kind: preview, port: 0}")
    run = RunningPipeline(config).start()
    wait_until(lambda: run.summary is not None, 60, "the run to finish")
    summary = run.stop()
    text = run.pipeline.metrics.exposition().decode()
    assert families(text) >= FAMILIES
    values = samples(text)

    def frames(status: str) -> float:
        return values[("streamer_frames_total", (("status", status),))]

    produced = values[("streamer_frames_produced_total", ())]
    assert produced == summary.produced == 40
    assert produced == frames("ok") + frames("failed") + frames("dropped")
    assert frames("ok") == summary.ok
    assert values[("streamer_source_state", (("state", "ended"),))] == 1.0


def figures(chrome: Chromium) -> dict[str, Any]:
    script = (
        "JSON.stringify(Object.fromEntries(['ok', 'fps', 'produced', "
        "'source_state', 'updated'].map(k => [k, "
        "document.getElementById(k).textContent])))"
    )
    value: dict[str, Any] = json.loads(chrome.evaluate(script))
    return value


def stream_pixels(chrome: Chromium) -> np.ndarray:
    png = chrome.screenshot()
    shot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    box = json.loads(
        chrome.evaluate(
            "JSON.stringify(document.getElementById('stream').getBoundingClientRect())"
        )
    )
    x, y = int(box["x"]), int(box["y"])
    crop: np.ndarray = shot[y : y + int(box["height"]), x : x + int(box["width"])]
    return crop


@pytest.mark.slow
def test_preview_in_headless_chromium(stub: StubPredictor, tmp_path: Path) -> None:
    config = pipeline_config(
        str(VTEST), stub.port, "  - {kind: preview, port: 0}", ", realtime: true"
    )
    run = RunningPipeline(config).start()
    chrome = None
    try:
        preview = run.pipeline.sinks[0]
        wait_until(lambda: preview.url is not None, 20, "the preview to listen")
        chrome = Chromium(tmp_path / "profile")
        chrome.call("Page.navigate", url=preview.url)
        wait_until(
            lambda: chrome.evaluate(
                "document.getElementById('stream').naturalWidth > 0 && "
                "document.getElementById('ok').textContent !== '-'"
            ),
            20,
            "the stream and figures on the page",
        )
        first, first_pixels = figures(chrome), stream_pixels(chrome)
        time.sleep(1.5)
        second, second_pixels = figures(chrome), stream_pixels(chrome)
        (tmp_path / "preview.png").write_bytes(chrome.screenshot())

        assert families(get(preview.url + "metrics").decode()) >= FAMILIES
    finally:
        if chrome is not None:
            chrome.close()
        summary = run.stop()

    assert first_pixels.shape[0] >= 500 and first_pixels.shape[1] >= 700
    diff = cv2.absdiff(first_pixels, second_pixels)
    assert float(diff.mean()) > 0.5, "the stream's pixels did not change"
    assert int(second["ok"]) > int(first["ok"]) > 0
    assert first["source_state"] == "streaming"
    assert float(second["fps"]) > 5
    assert summary.reconciled
    assert (tmp_path / "preview.png").stat().st_size > 10_000

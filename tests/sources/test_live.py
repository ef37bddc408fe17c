"""Live behaviour end to end: bounded lag, and a run interrupted during a freeze."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from streamer.frames import Image
from streamer.sources import ReconnectPolicy, StreamSource
from tests.sources.conftest import (
    RtspServer,
    free_port,
    require,
    streamer_command,
)

pytestmark = pytest.mark.slow

RATE = 25
BITS = 12
#: Each frame's index in 12 vertical stripes, least significant bit on the left.
STRIPES = (
    f"color=c=black:s=192x48:r={RATE},format=gray,"
    "geq=lum='255*mod(floor(N/pow(2\\,floor(X*12/W)))\\,2)'"
)


def stripe_index(image: Image) -> int:
    """Read back the index drawn by ``STRIPES``."""
    row = image[image.shape[0] // 2]
    width = image.shape[1]
    centres = [int((bit + 0.5) * width / BITS) for bit in range(BITS)]
    return sum(1 << bit for bit, x in enumerate(centres) if row[x].mean() > 128)


@pytest.fixture
def numbered_stream() -> Iterator[str]:
    """A live MPEG-TS stream over HTTP on 127.0.0.1 whose frames carry their index."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/live.ts"
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", STRIPES,
        "-t", "40", "-c:v", "libx264", "-preset", "ultrafast", "-tune",
        "zerolatency", "-g", str(RATE), "-pix_fmt", "yuv420p", "-f", "mpegts",
        "-listen", "1", url,
    ]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        require(False, "ffmpeg is not installed")
        raise
    yield url
    process.kill()
    process.wait(timeout=10)


def test_lag_stays_bounded_with_a_slow_consumer(numbered_stream: str) -> None:
    policy = ReconnectPolicy(open_timeout_s=5.0, read_timeout_s=3.0, max_backoff_s=0.5)
    source = StreamSource(numbered_stream, policy)
    source.open()
    started = time.monotonic()  # the first frame is in: index 0 or close to it
    stop = threading.Event()
    lags: list[float] = []
    indices: list[int] = []
    try:
        for frame in source.frames(stop):
            assert frame.image is not None
            index = stripe_index(frame.image)
            indices.append(index)
            lags.append(RATE * (time.monotonic() - started) - index)
            time.sleep(0.2)  # a slow consumer
            if time.monotonic() - started > 9.0:
                break
    finally:
        source.close()
    third = len(lags) // 3
    first, last = np.mean(lags[:third]), np.mean(lags[-third:])
    print(f"lag first third {first:.1f} frames, last third {last:.1f} frames")
    assert len(indices) >= 30
    assert all(b > a for a, b in itertools.pairwise(indices))
    assert last - first < 5  # an in-order reader would fall 20 frames a second behind


@pytest.fixture
def predictor_config() -> str:
    """The predictor part of a run's config: the embedded null model."""
    return "{serve: {model: 'null'}}"


def test_run_interrupted_during_a_freeze_exits_with_valid_outputs(
    rtsp_server: RtspServer, predictor_config: str, tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    video, records = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    config.write_text(
        f"source: {{url: '{rtsp_server.url}', open_timeout_s: 2, read_timeout_s: 2,"
        " reconnect_max_backoff_s: 1}\n"
        f"predictor: {predictor_config}\n"
        "pipeline: {workers: 2, queue_size: 4, progress: false}\n"
        f"sinks:\n  - {{kind: video, path: '{video}'}}\n"
        f"  - {{kind: jsonl, path: '{records}', flush_every: 1}}\n"
    )
    run = subprocess.Popen(
        streamer_command("run", str(config)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_lines(records, 10, timeout=30)
        rtsp_server.freeze()
        time.sleep(3.0)
        run.send_signal(signal.SIGINT)
        asked = time.monotonic()
        _, stderr = run.communicate(timeout=10)
        took = time.monotonic() - asked
    finally:
        run.kill()
        rtsp_server.thaw()
    print(f"run ended {took:.2f} s after SIGINT during the freeze")
    assert took < 5, stderr
    assert run.returncode == 130, stderr
    assert "FATAL" not in stderr
    lines = records.read_text().splitlines()
    assert len(lines) >= 10
    for line in lines:
        json.loads(line)
    _assert_playable(video)


def _wait_for_lines(path: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or len(path.read_text().splitlines()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} records in {path}"
        time.sleep(0.1)


def _assert_playable(video: Path) -> None:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(video)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 0


def test_ctrl_c_while_the_camera_is_offline_at_start_is_quick(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"source: {{url: 'rtsp://127.0.0.1:{free_port()}/none', open_timeout_s: 20}}\n"
        "predictor: {serve: {model: 'null'}}\n"
        f"sinks: [{{kind: jsonl, path: '{tmp_path / 'r.jsonl'}'}}]\n"
    )
    run = subprocess.Popen(
        streamer_command("run", str(config), "--no-progress"),
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)
    run.send_signal(signal.SIGINT)
    asked = time.monotonic()
    _, stderr = run.communicate(timeout=20)
    took = time.monotonic() - asked
    assert run.returncode == 130, stderr
    assert took < 3.0, stderr

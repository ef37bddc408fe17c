"""A replay killed with SIGKILL leaves an MP4 that ffprobe reads and decodes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamer.sinks.video import FRAGMENT_S
from tests.helpers import require_tool
from tests.sinks.conftest import VTEST, StubPredictor

KILL_AFTER_RECORDS = 300


def run_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "streamer", "run", str(config), "--no-progress"]


def flushed_records(path: Path) -> list[dict[str, object]]:
    """Complete lines only: a line cut by the kill is not counted."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines[:-1] if line]


def decoded_frame_count(ffprobe: str, path: Path) -> int:
    reply = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,codec_name",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stream = json.loads(reply.stdout)["streams"][0]
    assert stream["codec_name"] == "h264"
    return int(stream["nb_read_frames"])


@pytest.mark.slow
def test_killed_replay_leaves_a_playable_video(tmp_path: Path) -> None:
    ffprobe = require_tool("ffprobe")
    assert VTEST.is_file(), f"{VTEST} is missing"
    video, records = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    config = tmp_path / "run.yaml"
    stub = StubPredictor().start()
    # The video sink comes first, so every flushed record's frame was already
    # handed to the encoder: the record count is a lower bound on frames written.
    config.write_text(f"""
source: {{url: "{VTEST}"}}
predictor: {{host: 127.0.0.1, port: {stub.port}}}
pipeline: {{workers: 2, progress: false}}
sinks:
  - {{kind: video, path: "{video}"}}
  - {{kind: jsonl, path: "{records}", flush_every: 1}}
""")
    try:
        proc = subprocess.Popen(run_command(config), cwd=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while len(flushed_records(records)) < KILL_AFTER_RECORDS:
                assert proc.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    finally:
        stub.stop()

    written = [r for r in flushed_records(records) if r["status"] != "dropped"]
    assert len(written) >= KILL_AFTER_RECORDS - 1
    assert len(written) < 795, "the run finished; nothing was cut short"
    decoded = decoded_frame_count(ffprobe, video)
    assert decoded >= 0.9 * len(written), (decoded, len(written))
    # At most the open fragment (FRAGMENT_S of 10 fps video) and a frame or
    # two in the encoder are lost.
    assert len(written) - decoded <= 10 * FRAGMENT_S + 2, (decoded, len(written))

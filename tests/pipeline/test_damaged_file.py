"""A file that opens but is cut short ends the run with a clear reason, exit 1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.fault_server import FaultServer
from tests.helpers import require_tool, run_streamer


def test_cut_short_file_is_reported_and_keeps_its_frames(
    short_clip: Path, tmp_path: Path
) -> None:
    ffmpeg = require_tool("ffmpeg")
    clip = tmp_path / "faststart.mp4"
    subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", str(short_clip), "-c:v", "libx264",
         "-g", "5", "-movflags", "+faststart", str(clip)],
        check=True, timeout=120,
    )  # fmt: skip
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 2 // 5])
    config = tmp_path / "run.yaml"
    with FaultServer(fault_rate=0.0) as server:
        config.write_text(
            f"source: {{url: '{clip}'}}\n"
            f"predictor: {{host: 127.0.0.1, port: {server.port}}}\n"
            f"sinks: [{{kind: jsonl, path: '{tmp_path / 'r.jsonl'}'}}]\n"
        )
        proc = run_streamer("run", str(config), "--no-progress")

    assert proc.returncode == 1, proc.stderr
    assert "faststart.mp4 ended after" in proc.stderr
    assert "of its 60 frames" in proc.stderr
    records = (tmp_path / "r.jsonl").read_text().splitlines()
    summary = json.loads((tmp_path / "r.summary.json").read_text())
    assert summary["outcome"] == "source_failed" and summary["reconciled"]
    assert 0 < len(records) == summary["ok"] < 60

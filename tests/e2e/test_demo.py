"""The main job end to end: a video through the real embedded server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import av

from tests.helpers import run_streamer


def test_replay_through_embedded_people_server(
    short_clip: Path, tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"source: {{url: '{short_clip}'}}\n"
        "predictor: {kind: edge, serve: {model: people}}\n"
        "pipeline: {workers: 3, queue_size: 4}\n"
        "sinks:\n"
        f"  - {{kind: video, path: '{tmp_path / 'out.mp4'}'}}\n"
        f"  - {{kind: jsonl, path: '{tmp_path / 'out.jsonl'}'}}\n"
    )

    proc = run_streamer("run", str(config), "--no-progress", timeout=240)

    assert proc.returncode == 0, proc.stderr
    assert "60 frames produced = 60 ok + 0 failed + 0 dropped" in proc.stderr
    records = [
        json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()
    ]
    assert [r["index"] for r in records] == list(range(60))
    assert all(r["status"] == "ok" for r in records)
    with_person = [
        r for r in records if any(p["label_name"] == "person" for p in r["predictions"])
    ]
    assert len(with_person) >= 45
    box = with_person[0]["predictions"][0]["bboxes"]
    assert 0 <= box[0] < box[2] <= 768 and 0 <= box[1] < box[3] <= 576
    assert records[0]["timings"]["request_s"] > 0
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (768, 576)
        assert sum(1 for _ in container.decode(stream)) == 60
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["produced"] == summary["ok"] == 60
    assert summary["reconciled"] is True


def test_unreachable_server_is_one_clear_sentence(
    short_clip: Path, tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"source: {{url: '{short_clip}'}}\n"
        "predictor: {kind: edge, host: 127.0.0.1, port: 9}\n"
    )

    proc = run_streamer("run", str(config), "--no-progress", timeout=240)

    assert proc.returncode == 1
    assert (
        "cannot reach the inference server at http://127.0.0.1:9/images" in proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_missing_video_file_is_one_clear_sentence(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"source: {{url: '{tmp_path / 'nope.avi'}'}}\n"
        "predictor: {kind: edge, serve: {model: 'null'}}\n"
    )

    proc = run_streamer("run", str(config), "--no-progress", timeout=240)

    assert proc.returncode == 1
    assert "nope.avi does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr

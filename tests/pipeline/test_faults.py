"""Every frame is accounted for when the inference server misbehaves."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

from streamer.config import parse_config
from streamer.pipeline import Outcome, Pipeline
from tests.fault_server import FaultServer
from tests.helpers import LANDINGAI_FIXTURES, run_streamer


def config_text(clip: Path, out: Path, port: int, attempts: int = 1) -> str:
    return (
        f"source: {{url: '{clip}'}}\n"
        f"predictor: {{host: 127.0.0.1, port: {port}, max_attempts: {attempts},"
        " read_timeout_s: 0.5, connect_timeout_s: 0.5}\n"
        "pipeline: {workers: 4, queue_size: 4, progress: false}\n"
        "sinks:\n"
        f"  - {{kind: jsonl, path: '{out / 'r.jsonl'}'}}\n"
        f"  - {{kind: video, path: '{out / 'r.mp4'}'}}\n"
    )


def test_seeded_faults_fail_their_frames_and_counts_reconcile(
    short_clip: Path, tmp_path: Path
) -> None:
    with FaultServer(fault_rate=0.3, seed=7) as server:
        config = parse_config(config_text(short_clip, tmp_path, server.port))
        summary = Pipeline(config).run()

    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert summary.outcome is Outcome.COMPLETED
    assert summary.produced == 60 == len(records)
    assert summary.reconciled
    assert summary.dropped == 0
    assert [r["index"] for r in records] == list(range(60))
    failed = [r for r in records if r["status"] == "failed"]
    assert 5 <= len(failed) == summary.failed
    assert all(r["error"] for r in failed)
    served_faults = sum(n for kind, n in server.served.items() if kind != "ok")
    assert served_faults >= len(failed)
    reasons = " ".join(r["error"] for r in failed)
    for expected in ("500", "502", "read timeout", "JSON"):
        assert expected in reasons, reasons


def test_server_gone_mid_run_fails_frames_then_resumes(
    short_clip: Path, tmp_path: Path
) -> None:
    text = config_text(short_clip, tmp_path, 0).replace(
        f"url: '{short_clip}'", f"url: '{short_clip}', realtime: true"
    )
    first = FaultServer(fault_rate=0.0).__enter__()
    config = parse_config(text.replace("port: 0", f"port: {first.port}"))
    pipeline = Pipeline(config)
    runner = threading.Thread(target=pipeline.run)
    runner.start()
    time.sleep(1.5)
    first.__exit__(None, None, None)
    time.sleep(2.0)
    with FaultServer(fault_rate=0.0, port=first.port):
        runner.join(timeout=30)

    summary = pipeline.summary
    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    statuses = [r["status"] for r in records]
    assert summary.reconciled and summary.produced == 60
    assert statuses[0] == statuses[-1] == "ok"
    assert 5 <= statuses.count("failed") == summary.failed
    failed_errors = [r["error"] for r in records if r["status"] == "failed"]
    assert all("connect" in e.lower() for e in failed_errors), failed_errors


def test_run_waits_for_a_server_that_starts_late_when_asked(
    short_clip: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = config_text(short_clip, tmp_path, port).replace(
        "connect_timeout_s: 0.5}", "connect_timeout_s: 0.5, wait_for_server_s: 20}"
    )
    pipeline = Pipeline(parse_config(text))
    runner = threading.Thread(target=pipeline.run)
    runner.start()
    time.sleep(1.5)
    assert runner.is_alive()
    with FaultServer(fault_rate=0.0, port=port):
        runner.join(timeout=30)

    assert pipeline.summary.ok == pipeline.summary.produced == 60


def test_rejected_api_key_stops_the_run_at_once(
    short_clip: Path, tmp_path: Path
) -> None:
    body = LANDINGAI_FIXTURES / "cloud_classification_response.json"
    config = tmp_path / "run.yaml"
    with FaultServer(
        fault_rate=1.0, faults=("http_401",), ok_body=body.read_bytes()
    ) as server:
        config.write_text(
            f"source: {{url: '{short_clip}', realtime: true}}\n"
            "predictor: {kind: cloud, endpoint_id: e, api_key: land_sk_wrong,"
            f" url: 'http://127.0.0.1:{server.port}/inference/v1/predict'}}\n"
            f"sinks: [{{kind: jsonl, path: '{tmp_path / 'r.jsonl'}'}}]\n"
        )
        proc = run_streamer("run", str(config), "--no-progress")

    assert proc.returncode == 1, proc.stderr
    assert "failed:" in proc.stderr and "Unauthorized" in proc.stderr
    assert sum(server.served.values()) < 20
    summary = json.loads((tmp_path / "r.summary.json").read_text())
    assert summary["outcome"] == "failed" and summary["reconciled"]


def test_a_run_where_every_frame_failed_exits_1(
    short_clip: Path, tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    with FaultServer(fault_rate=1.0, faults=("http_500",)) as server:
        config.write_text(
            f"source: {{url: '{short_clip}'}}\n"
            f"predictor: {{host: 127.0.0.1, port: {server.port}, max_attempts: 1}}\n"
        )
        proc = run_streamer("run", str(config), "--no-progress")

    assert proc.returncode == 1, proc.stderr
    assert "every frame failed; the most common reason: " in proc.stderr
    assert "HTTP 500" in proc.stderr

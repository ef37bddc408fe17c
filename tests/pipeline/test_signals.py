"""SIGINT and SIGTERM end a run with the right exit code and valid outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from tests.fault_server import FaultServer
from tests.helpers import ROOT, run_streamer


def start_run(clip: Path, out: Path, port: int) -> subprocess.Popen[str]:
    config = out / "run.yaml"
    config.write_text(
        f"source: {{url: '{clip}', loop: false}}\n"
        f"predictor: {{host: 127.0.0.1, port: {port}}}\n"
        "pipeline: {workers: 2, queue_size: 4, drain_timeout_s: 5}\n"
        "sinks:\n"
        f"  - {{kind: jsonl, path: '{out / 'r.jsonl'}'}}\n"
        f"  - {{kind: video, path: '{out / 'r.mp4'}'}}\n"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "streamer", "-v", "run", str(config), "--no-progress"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_records(path: Path, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} records in {path} after {timeout} s")


def check_outputs(out: Path) -> dict[str, object]:
    records = [json.loads(x) for x in (out / "r.jsonl").read_text().splitlines()]
    summary = json.loads((out / "r.summary.json").read_text())
    assert summary["reconciled"] is True
    assert len(records) == summary["produced"]
    with av.open(str(out / "r.mp4")) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == sum(1 for r in records if r["status"] != "dropped")
    return summary


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_drains_and_exits_130(
    sample_path: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    with FaultServer(fault_rate=0.0, delay_s=0.05) as server:
        proc = start_run(sample_path, tmp_path, server.port)
        wait_for_records(tmp_path / "r.jsonl", 25)
        started = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=20)
        took = time.monotonic() - started

    assert proc.returncode == 130, stderr
    assert took < 8
    summary = check_outputs(tmp_path)
    assert summary["outcome"] == "interrupted"
    assert summary["dropped"] == 0
    assert summary["produced"] < 795
    assert "Traceback" not in stderr


def test_second_signal_aborts_at_once(sample_path: Path, tmp_path: Path) -> None:
    with FaultServer(fault_rate=0.0, delay_s=0.5) as server:
        proc = start_run(sample_path, tmp_path, server.port)
        wait_for_records(tmp_path / "r.jsonl", 25)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
        took = time.monotonic() - started

    assert proc.returncode == 130, stderr
    assert took < 5
    summary = check_outputs(tmp_path)
    assert summary["outcome"] == "aborted"
    assert "Traceback" not in stderr


def test_signal_while_waiting_for_the_server_exits_130(
    short_clip: Path, tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"source: {{url: '{short_clip}'}}\n"
        "predictor: {host: 127.0.0.1, port: 9, wait_for_server_s: 60}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamer", "run", str(config), "--no-progress"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert "waiting for the inference server" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr


def test_bad_worker_override_is_a_config_error() -> None:
    proc = run_streamer("run", "configs/demo.yaml", "--workers", "0")
    assert proc.returncode == 1
    assert "command line: workers = 0" in proc.stderr

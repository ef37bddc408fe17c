"""API keys never reach logs, records, outputs or error messages."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from tests.fault_server import FaultServer
from tests.helpers import LANDINGAI_FIXTURES, run_streamer

API_KEY = "land_sk_Zq7SecretKeyValue0123456789"


def forms(secret: str) -> list[str]:
    """The secret as it could leak: raw, percent-encoded, and its tail."""
    return [secret, urllib.parse.quote(secret, safe=""), secret[-12:]]


def assert_nowhere(secret: str, texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for form in forms(secret):
            assert form not in text, f"{form!r} leaked into {where}"


def test_cloud_api_key_stays_out_of_logs_records_and_errors(
    short_clip: Path, tmp_path: Path
) -> None:
    body = LANDINGAI_FIXTURES / "cloud_classification_response.json"
    config = tmp_path / "run.yaml"
    with FaultServer(fault_rate=0.4, seed=3, ok_body=body.read_bytes()) as server:
        config.write_text(
            f"source: {{url: '{short_clip}'}}\n"
            "predictor:\n"
            "  kind: cloud\n"
            "  endpoint_id: 8e1a2b3c-0000-4000-8000-000000000000\n"
            "  api_key: ${TEST_LANDINGAI_KEY}\n"
            f"  url: http://127.0.0.1:{server.port}/inference/v1/predict\n"
            "  max_attempts: 1\n"
            "  read_timeout_s: 0.5\n"
            "pipeline: {workers: 2, progress: false}\n"
            "sinks:\n"
            f"  - {{kind: jsonl, path: '{tmp_path / 'r.jsonl'}'}}\n"
            f"  - {{kind: video, path: '{tmp_path / 'r.mp4'}'}}\n"
        )
        proc = run_streamer(
            "-vv",
            "run",
            str(config),
            env={"TEST_LANDINGAI_KEY": API_KEY, "PATH": "/usr/bin:/bin"},
        )

    assert proc.returncode == 0, proc.stderr
    assert any(h.get("apikey") == API_KEY for _, h in server.requests)
    records = (tmp_path / "r.jsonl").read_text()
    assert '"failed"' in records and '"ok"' in records
    texts = {"stdout": proc.stdout, "stderr": proc.stderr, "records": records}
    texts["summary"] = (tmp_path / "r.summary.json").read_text()
    texts["video"] = (tmp_path / "r.mp4").read_bytes().decode("latin-1")
    assert_nowhere(API_KEY, texts)


def test_bad_api_key_error_does_not_echo_the_key(
    tmp_path: Path, short_clip: Path
) -> None:
    bad_key = "sk_wrong_prefix_SecretTail9876543210"
    config = tmp_path / "run.yaml"
    config.write_text(
        f"source: {{url: '{short_clip}'}}\n"
        "predictor: {kind: cloud, endpoint_id: x, api_key: '" + bad_key + "',"
        " url: 'http://127.0.0.1:9/inference/v1/predict'}\n"
    )
    proc = run_streamer("run", str(config), "--no-progress")
    assert proc.returncode == 1
    assert "must start with 'land_sk_'" in proc.stderr
    assert_nowhere(bad_key, {"stderr": proc.stderr, "stdout": proc.stdout})

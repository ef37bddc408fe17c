"""A camera password and an API key never reach logs, records, outputs or pages.

The run reads an RTSP stream whose URL carries a password (with characters that
must be percent-encoded) and sends frames to a loopback stand-in for the
LandingLens cloud with an API key. Everything the run writes or serves is then
searched for both secrets, raw and percent-encoded.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.fault_server import FaultServer
from tests.helpers import LANDINGAI_FIXTURES, ROOT
from tests.sources.conftest import RtspServer, free_port, streamer_command

pytestmark = pytest.mark.slow

PASSWORD = "Cam/Pa ss:w0rd@Line3"
API_KEY = "land_sk_LiveSecretKey0123456789abcdef"


def leaks(secret: str, text: str) -> list[str]:
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
    }
    return [form for form in forms if form in text]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode("utf-8", "replace"))


def test_secrets_stay_out_of_everything(
    rtsp_server: RtspServer, tmp_path: Path
) -> None:
    body = LANDINGAI_FIXTURES / "cloud_classification_response.json"
    quoted = urllib.parse.quote(PASSWORD, safe="")
    stream = rtsp_server.url.replace("rtsp://", "rtsp://operator:${CAM_PASSWORD}@")
    preview = free_port()
    out = tmp_path / "out"
    config = tmp_path / "run.yaml"
    with FaultServer(fault_rate=0.3, seed=5, ok_body=body.read_bytes()) as cloud:
        config.write_text(
            f"source: {{url: '{stream}', max_fps: 5}}\n"
            "predictor:\n"
            "  kind: cloud\n"
            "  endpoint_id: 8e1a2b3c-0000-4000-8000-000000000000\n"
            "  api_key: ${TEST_API_KEY}\n"
            f"  url: http://127.0.0.1:{cloud.port}/inference/v1/predict\n"
            "  max_attempts: 1\n"
            "  read_timeout_s: 0.5\n"
            "sinks:\n"
            f"  - {{kind: jsonl, path: '{out / 'r.jsonl'}'}}\n"
            f"  - {{kind: video, path: '{out / 'r.mp4'}'}}\n"
            f"  - {{kind: preview, port: {preview}}}\n"
        )
        proc = subprocess.Popen(
            streamer_command("-vv", "run", str(config)),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                "TEST_API_KEY": API_KEY,
                "CAM_PASSWORD": quoted,
                "PATH": "/usr/bin:/bin",
            },
        )
        pages = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(pages) < 3:
            time.sleep(1.0)
            try:
                for route in ("/", "/status", "/metrics"):
                    pages[route] = fetch(f"http://127.0.0.1:{preview}{route}")
            except OSError:
                continue
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert len(pages) == 3, "the preview never answered"
    texts = {"stdout": stdout, "stderr": stderr, **pages}
    for path in out.iterdir():
        if path.is_file():
            texts[path.name] = path.read_bytes().decode("latin-1")
    assert '"ok"' in texts["r.jsonl"] and '"failed"' in texts["r.jsonl"]
    assert "operator:***@127.0.0.1" in stderr
    for where, text in texts.items():
        assert not leaks(PASSWORD, text), f"the camera password leaked into {where}"
        assert not leaks(API_KEY, text), f"the API key leaked into {where}"
        assert API_KEY[-10:] not in text, f"the API key's tail leaked into {where}"

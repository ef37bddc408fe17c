import time

import pytest

from streamer import metrics
from streamer.frames import Frame, Result, Status


def test_rate_falls_to_zero_and_lag_grows_when_frames_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics, "STALE_AFTER_S", 0.05)
    run = metrics.RunMetrics()
    frame = Frame(1, "cam", None, time.monotonic(), time.time())
    run.frame_delivered(Result(frame, Status.OK), fps=12.0, lag_s=0.1)
    assert run.snapshot()["fps"] == 12.0

    time.sleep(0.1)

    snapshot = run.snapshot()
    assert snapshot["fps"] == 0.0
    assert snapshot["lag_s"] >= 0.2
    text = run.exposition().decode()
    assert "streamer_fps 0.0" in text

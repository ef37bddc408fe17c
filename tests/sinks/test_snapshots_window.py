"""Snapshots by rule and rate limit; the window sink's error on headless OpenCV."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from streamer.config import SnapshotsSinkConfig, WindowSinkConfig
from streamer.exceptions import SinkError
from streamer.frames import Frame, Result, Status
from streamer.predict import ObjectDetectionPrediction
from streamer.sinks import build_sink
from streamer.sinks.snapshots import SnapshotsSink
from streamer.sinks.window import NO_GUI, WindowSink, opencv_has_gui
from streamer.sources.base import SourceInfo

INFO = SourceInfo(64, 48, 10.0)


def result(
    index: int, people: int, score: float = 0.9, status: Status = Status.OK
) -> Result:
    raw = np.full((48, 64, 3), 10, dtype=np.uint8)
    frame = Frame(index, "cam", raw, time.monotonic(), time.time(), index / 10)
    preds = tuple(
        ObjectDetectionPrediction(
            id=str(i),
            score=score,
            label_name="person",
            label_index=1,
            bboxes=(1, 2, 9, 9),
        )
        for i in range(people)
    )
    return Result(frame, status, preds)


def snapshots(tmp_path: Path, **options: object) -> SnapshotsSink:
    config = SnapshotsSinkConfig.model_validate(
        {
            "kind": "snapshots",
            "dir": str(tmp_path / "shots"),
            "label": "person",
            **options,
        }
    )
    sink = build_sink(config)
    assert isinstance(sink, SnapshotsSink)
    sink.open(INFO)
    return sink


@pytest.mark.parametrize(
    ("people", "score", "status", "saved"),
    [
        (1, 0.9, Status.OK, True),
        (0, 0.9, Status.OK, False),
        (1, 0.4, Status.OK, False),
        (1, 0.9, Status.FAILED, False),
        (2, 0.9, Status.OK, True),
    ],
)
def test_rule(
    tmp_path: Path, people: int, score: float, status: Status, saved: bool
) -> None:
    sink = snapshots(tmp_path, min_score=0.5)
    sink.write(result(3, people, score, status), None)
    sink.close()
    assert bool(sink.saved) is saved


def test_min_count(tmp_path: Path) -> None:
    sink = snapshots(tmp_path, min_count=2, min_interval_s=0)
    sink.write(result(0, 1), None)
    sink.write(result(1, 2), None)
    assert [p.name for p in sink.saved] == ["00000001_0.100s.jpg"]


def test_rate_limit_uses_media_time_and_saves_raw(tmp_path: Path) -> None:
    sink = snapshots(tmp_path, min_interval_s=1.0, raw=True)
    annotated = np.full((48, 64, 3), 200, dtype=np.uint8)
    for index in range(35):  # 3.5 s of media time
        sink.write(result(index, 1), annotated)
    sink.close()
    names = sorted(p.name for p in (tmp_path / "shots").iterdir())
    assert names == [
        "00000000_0.000s.jpg",
        "00000000_0.000s_raw.jpg",
        "00000010_1.000s.jpg",
        "00000010_1.000s_raw.jpg",
        "00000020_2.000s.jpg",
        "00000020_2.000s_raw.jpg",
        "00000030_3.000s.jpg",
        "00000030_3.000s_raw.jpg",
    ]
    shot = cv2.imread(str(tmp_path / "shots" / "00000010_1.000s.jpg"))
    raw = cv2.imread(str(tmp_path / "shots" / "00000010_1.000s_raw.jpg"))
    assert abs(float(shot.mean()) - 200) < 3 and abs(float(raw.mean()) - 10) < 3


def test_window_sink_on_headless_opencv_fails_in_one_sentence() -> None:
    assert not opencv_has_gui(), "this environment should carry opencv-headless"
    sink = WindowSink(WindowSinkConfig(kind="window"))
    with pytest.raises(SinkError) as err:
        sink.open(INFO)
    assert str(err.value) == (
        "this OpenCV build has no GUI; install opencv-python instead of "
        "opencv-python-headless, or use the preview sink"
    )
    assert str(err.value) == NO_GUI
    sink.close()


@pytest.mark.parametrize(
    ("line", "gui"),
    [
        ("  GUI:  NONE", False),
        ("  GUI:  GTK3", True),
        ("  GUI:  QT5", True),
        ("", False),
    ],
)
def test_gui_detection(line: str, gui: bool) -> None:
    assert opencv_has_gui(f"General configuration\n{line}\n  Media I/O:\n") is gui


def test_jsonl_flushes_a_slow_stream_within_a_second(tmp_path: Path) -> None:
    from streamer.config import JsonlSinkConfig
    from streamer.sinks.jsonl import FLUSH_INTERVAL_S, JsonlSink

    path = tmp_path / "slow.jsonl"
    sink = JsonlSink(JsonlSinkConfig(kind="jsonl", path=str(path)))
    sink.open(INFO)
    sink.write(result(0, 0), None)
    time.sleep(FLUSH_INTERVAL_S + 0.05)
    sink.write(result(1, 0), None)
    assert len(path.read_text().splitlines()) == 2  # well short of flush_every
    sink.close()

import json
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from streamer.config import JsonlSinkConfig, VideoSinkConfig
from streamer.frames import Frame, Result, Status
from streamer.sinks import JsonlSink, VideoSink
from streamer.sinks.jsonl import summary_path
from streamer.sources.base import SourceInfo


def frame(
    index: int, width: int = 64, height: int = 48, media_time: float | None = None
) -> Frame:
    image = np.full((height, width, 3), index % 255, dtype=np.uint8)
    t = index / 10 if media_time is None else media_time
    return Frame(index, "test", image, time.monotonic(), time.time(), t)


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@pytest.mark.parametrize(("width", "height"), [(64, 48), (65, 49), (641, 481)])
def test_video_sink_writes_h264_padded_to_even_size(
    tmp_path: Path, width: int, height: int
) -> None:
    path = tmp_path / "out.mp4"
    sink = VideoSink(VideoSinkConfig(kind="video", path=str(path)))
    sink.open(SourceInfo(width, height, 10.0))
    for i in range(12):
        sink.write(Result(frame(i, width, height), Status.OK), None)
    sink.close()
    frames = decoded_frames(path)
    assert len(frames) == 12
    assert frames[0].shape == (height + height % 2, width + width % 2, 3)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_video_sink_skips_dropped_frames_and_scales_a_size_change(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.mp4"
    sink = VideoSink(VideoSinkConfig(kind="video", path=str(path)))
    sink.open(SourceInfo(64, 48, 10.0))
    sink.write(Result(frame(0), Status.OK), None)
    sink.write(Result(frame(1), Status.DROPPED, error="queue full"), None)
    sink.write(Result(frame(2, 32, 24), Status.FAILED, error="boom"), None)
    sink.close()
    frames = decoded_frames(path)
    assert len(frames) == 2
    assert frames[1].shape == (48, 64, 3)


def test_video_sink_uses_media_times(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    sink = VideoSink(VideoSinkConfig(kind="video", path=str(path)))
    sink.open(SourceInfo(64, 48, 30.0))
    for i, t in enumerate([0.0, 0.5, 1.5, 1.6]):
        sink.write(Result(frame(i, media_time=t), Status.OK), None)
    sink.close()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [float(f.pts * stream.time_base) for f in container.decode(stream)]
    assert times == pytest.approx([0.0, 0.5, 1.5, 1.6], abs=0.01)


def test_killed_writer_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.mp4"
    script = f"""
import time, numpy as np
from streamer.config import VideoSinkConfig
from streamer.frames import Frame, Result, Status
from streamer.sinks import VideoSink
from streamer.sources.base import SourceInfo
sink = VideoSink(VideoSinkConfig(kind="video", path={str(path)!r}))
sink.open(SourceInfo(64, 48, 10.0))
for i in range(100000):
    image = np.full((48, 64, 3), i % 255, dtype=np.uint8)
    sink.write(Result(Frame(i, "t", image, 0.0, 0.0, i / 10), Status.OK), None)
    if i == 60:
        print("written", flush=True)
    time.sleep(0.002)
"""
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    time.sleep(0.3)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert len(decoded_frames(path)) >= 50


def test_jsonl_sink_writes_every_status_and_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    sink = JsonlSink(JsonlSinkConfig(kind="jsonl", path=str(path)))
    sink.open(SourceInfo(64, 48, 10.0))
    box = SimpleNamespace(
        score=0.9, label_name="person", label_index=1, bboxes=(1, 2, 30, 40), id="x"
    )
    sink.write(Result(frame(0), Status.OK, (box,), timings={"request_s": 0.01}), None)
    sink.write(Result(frame(1), Status.FAILED, error="HTTP 502"), None)
    sink.write(Result(frame(2), Status.DROPPED, error="queue full"), None)
    sink.write_summary({"produced": 3})
    sink.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "failed", "dropped"]
    assert records[0]["predictions"] == [
        {
            "kind": "object_detection",
            "score": 0.9,
            "label_name": "person",
            "label_index": 1,
            "bboxes": [1, 2, 30, 40],
        }
    ]
    assert records[1]["error"] == "HTTP 502"
    assert records[0]["media_time"] == 0.0
    assert json.loads(summary_path(path).read_text()) == {"produced": 3}


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    from streamer.exceptions import SinkError

    blocker = tmp_path / "file"
    blocker.write_text("")
    sink = JsonlSink(JsonlSinkConfig(kind="jsonl", path=str(blocker / "x.jsonl")))
    with pytest.raises(SinkError, match="cannot create records file"):
        sink.open(SourceInfo(1, 1, 1.0))

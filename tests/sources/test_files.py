"""FileSource on odd files made with ffmpeg: VFR, rotation, depth, damage."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from streamer.exceptions import SourceError
from streamer.frames import Frame
from streamer.sources import FileSource
from tests.sources.conftest import ffmpeg

TESTSRC = "testsrc=size=320x240:rate={rate}"


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test file, made once per session."""
    root = tmp_path_factory.mktemp("videos")
    made: dict[str, Path] = {}

    def make(name: str, *args: str) -> None:
        made[name] = root / name
        ffmpeg(*args, str(made[name]))

    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    make("base.mp4", "-f", "lavfi", "-i", TESTSRC.format(rate=10), "-t", "2", *x264)
    make("long.mp4", "-f", "lavfi", "-i", TESTSRC.format(rate=30), "-t", "4", *x264)
    vfr = "select='lt(n\\,10)+not(mod(n\\,3))'"
    make(
        "vfr.mp4", "-f", "lavfi", "-i", TESTSRC.format(rate=30), "-t", "3",
        "-vf", vfr, "-fps_mode", "vfr", *x264,
    )  # fmt: skip
    make(
        "rot.mp4", "-i", str(made["base.mp4"]), "-c", "copy",
        "-metadata:s:v:0", "rotate=90",
    )  # fmt: skip
    lavfi = ("-f", "lavfi", "-i", TESTSRC.format(rate=10), "-t", "1")
    make("gray.mkv", *lavfi, "-c:v", "ffv1", "-pix_fmt", "gray")
    make("gray16.mkv", *lavfi, "-c:v", "ffv1", "-pix_fmt", "gray16le")
    odd = ("-f", "lavfi", "-i", "testsrc=size=641x481:rate=10", "-t", "1")
    make("odd.mkv", *odd, "-c:v", "ffv1")
    made["truncated.mp4"] = _truncated(made["long.mp4"], root / "truncated.mp4")
    made["flipped.mp4"] = _flipped(made["long.mp4"], root / "flipped.mp4")
    return made


def _truncated(good: Path, path: Path) -> Path:
    data = good.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


def _flipped(good: Path, path: Path) -> Path:
    data = bytearray(good.read_bytes())
    start, end = int(len(data) * 0.3), int(len(data) * 0.35)
    data[start:end] = bytes(b ^ 0xFF for b in data[start:end])
    path.write_bytes(bytes(data))
    return path


def read_all(source: FileSource, limit: int = 10_000) -> list[Frame]:
    """Open, read every frame (at most ``limit``), close."""
    source.open()
    try:
        return list(itertools.islice(source.frames(threading.Event()), limit))
    finally:
        source.close()


def _assert_clean(frames: list[Frame], width: int, height: int) -> None:
    assert frames
    for frame in frames:
        assert frame.image is not None
        assert frame.image.dtype == np.uint8
        assert frame.image.shape == (height, width, 3)
    times = [f.media_time for f in frames]
    assert all(t is not None for t in times)
    assert all(b > a for a, b in itertools.pairwise(times))  # type: ignore[operator]


def test_variable_frame_rate_uses_decoded_timestamps(videos: dict[str, Path]) -> None:
    source = FileSource(str(videos["vfr.mp4"]))
    frames = read_all(source)
    info = source._info
    assert info is not None
    _assert_clean(frames, 320, 240)
    gaps = np.diff([f.media_time for f in frames])  # type: ignore[arg-type]
    assert gaps[:9] == pytest.approx(1 / 30, abs=0.005)
    assert gaps[-5:] == pytest.approx(0.1, abs=0.005)
    assert 10 < info.fps < 15  # the average rate, not the 30 fps claim
    assert source.facts is not None and source.facts.claimed_fps == 30
    assert info.frame_count == len(frames) == 36


def test_rotation_is_applied_once(videos: dict[str, Path]) -> None:
    source = FileSource(str(videos["rot.mp4"]))
    info = source.open()
    first = next(iter(source.frames(threading.Event())))
    source.close()
    assert (info.width, info.height) == (240, 320)
    assert source.facts is not None and source.facts.rotation == 90
    assert first.image is not None and first.image.shape == (320, 240, 3)
    upright = _ffmpeg_first_frame(videos["rot.mp4"], 240, 320)
    diff = np.abs(first.image.astype(int) - upright.astype(int)).mean()
    turned = np.abs(first.image.astype(int) - np.rot90(upright, 2).astype(int)).mean()
    assert diff < 8 < turned


def _ffmpeg_first_frame(path: Path, width: int, height: int) -> np.ndarray:
    """What ffmpeg itself shows (it applies the display matrix)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "bgr24", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize(
    ("name", "width", "height"),
    [("gray.mkv", 320, 240), ("gray16.mkv", 320, 240), ("odd.mkv", 641, 481)],
)
def test_unusual_pictures_become_bgr(
    videos: dict[str, Path], name: str, width: int, height: int
) -> None:
    frames = read_all(FileSource(str(videos[name])))
    _assert_clean(frames, width, height)
    assert len(frames) == 10


def test_truncated_file_fails_with_one_sentence(videos: dict[str, Path]) -> None:
    with pytest.raises(SourceError) as caught:
        FileSource(str(videos["truncated.mp4"])).open()
    message = str(caught.value)
    assert "truncated.mp4" in message
    assert "moov" in message
    assert "\n" not in message


def test_byte_flipped_file_plays_or_fails_clearly(videos: dict[str, Path]) -> None:
    source = FileSource(str(videos["flipped.mp4"]))
    try:
        frames = read_all(source)
    except SourceError as exc:
        assert "flipped.mp4" in str(exc)
        return
    _assert_clean(frames, 320, 240)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nothing\.mp4 does not exist"):
        FileSource(str(tmp_path / "nothing.mp4")).open()


def test_not_a_video_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceError, match=r"notes\.mp4"):
        FileSource(str(path)).open()


@pytest.mark.parametrize(("max_fps", "expected"), [(None, 120), (0, 120), (10, 40)])
def test_max_fps_samples_by_media_time(
    videos: dict[str, Path], max_fps: float | None, expected: int
) -> None:
    source = FileSource(str(videos["long.mp4"]), max_fps=max_fps)
    frames = read_all(source)
    assert len(frames) == pytest.approx(expected, abs=1)
    assert [f.index for f in frames] == list(range(len(frames)))


def test_loop_replays_with_increasing_indices(videos: dict[str, Path]) -> None:
    source = FileSource(str(videos["base.mp4"]), loop=True)
    frames = read_all(source, limit=50)
    assert [f.index for f in frames] == list(range(50))
    _assert_clean(frames, 320, 240)
    assert source._info is not None and source._info.frame_count is None


def test_realtime_paces_at_media_time(videos: dict[str, Path]) -> None:
    source = FileSource(str(videos["base.mp4"]), realtime=True)
    started = time.monotonic()
    frames = read_all(source)
    took = time.monotonic() - started
    assert len(frames) == 20
    assert 1.8 <= took < 3.0

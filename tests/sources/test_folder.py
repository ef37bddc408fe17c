"""FolderSource, source selection, webcams and the probe command."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from streamer.cli import main
from streamer.config import SourceConfig
from streamer.exceptions import SourceError
from streamer.sources import (
    FileSource,
    FolderSource,
    StreamSource,
    WebcamSource,
    open_source,
)
from tests.sources.conftest import VTEST, require, streamer_command


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    """A folder of pictures of every kind, one of them corrupt."""
    rng = np.random.default_rng(7)
    cv2.imwrite(
        str(tmp_path / "a_color.png"), rng.integers(0, 255, (48, 64, 3), np.uint8)
    )
    cv2.imwrite(str(tmp_path / "b_gray.png"), np.full((30, 40), 128, np.uint8))
    cv2.imwrite(str(tmp_path / "c_deep.png"), np.full((20, 20), 40000, np.uint16))
    cv2.imwrite(str(tmp_path / "d_alpha.png"), np.full((10, 12, 4), 200, np.uint8))
    (tmp_path / "e_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cv2.imwrite(str(tmp_path / "f_last.jpg"), np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("not a picture")
    return tmp_path


def test_folder_yields_sorted_bgr_frames_and_one_failure(pictures: Path) -> None:
    source = FolderSource(str(pictures))
    info = source.open()
    frames = list(source.frames(threading.Event()))
    assert (info.width, info.height, info.frame_count) == (64, 48, 6)
    assert [f.index for f in frames] == list(range(6))
    failed = [f for f in frames if f.image is None]
    assert len(failed) == 1
    assert failed[0].error is not None
    assert failed[0].error.startswith("cannot decode e_corrupt.jpg: ")
    for frame in frames:
        if frame.image is not None:
            assert frame.image.dtype == np.uint8 and frame.image.ndim == 3
            assert frame.image.shape[2] == 3
    deep = frames[2].image
    assert deep is not None and int(deep[0, 0, 0]) == 40000 >> 8


def test_glob_pattern_selects_pictures(pictures: Path) -> None:
    source = FolderSource(str(pictures / "*.png"))
    assert source.open().frame_count == 4


def test_empty_folder_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no pictures found"):
        FolderSource(str(tmp_path)).open()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (0, WebcamSource),
        ("/dev/video3", WebcamSource),
        ("rtsp://user:pw@127.0.0.1:8554/cam", StreamSource),
        ("http://127.0.0.1:8080/live.ts", StreamSource),
        ("shots/*.png", FolderSource),
        (".", FolderSource),
        ("clip.mp4", FileSource),
    ],
)
def test_open_source_picks_by_url(url: str | int, kind: type) -> None:
    assert isinstance(open_source(SourceConfig(url=url)), kind)


def test_stream_name_is_redacted() -> None:
    source = open_source(SourceConfig(url="rtsp://user:pw1234@127.0.0.1:8554/cam"))
    assert source.name == "rtsp://user:***@127.0.0.1:8554/cam"


@pytest.mark.parametrize("device", [9, "/dev/video9"])
def test_missing_webcam_is_named(device: str | int) -> None:
    require(not Path("/dev/video9").exists(), "a /dev/video9 exists here")
    with pytest.raises(SourceError, match=r"^webcam /dev/video9 does not exist; "):
        open_source(SourceConfig(url=device)).open()


def test_probe_describes_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    require(VTEST.is_file(), f"{VTEST} is missing")
    assert main(["probe", str(VTEST)]) == 0
    out = capsys.readouterr().out
    assert "kind: file" in out
    assert "size: 768x576" in out
    assert "frames claimed: 795" in out
    assert "frames decoded: 795" in out
    assert "codec: msmpeg4v3" in out


def test_probe_explains_a_bad_path(tmp_path: Path) -> None:
    missing = tmp_path / "gone.mp4"
    done = subprocess.run(
        streamer_command("probe", str(missing)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"video file {missing} does not exist" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

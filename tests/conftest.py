"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from tests.helpers import SAMPLE


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 60 frames of the sample, as a separate AVI file."""
    path = tmp_path_factory.mktemp("clips") / "vtest60.avi"
    reader = cv2.VideoCapture(str(SAMPLE))
    fps = reader.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(60):
        ok, image = reader.read()
        assert ok, "samples/vtest.avi has fewer than 60 frames"
        if writer is None:
            size = (image.shape[1], image.shape[0])
            fourcc = cv2.VideoWriter.fourcc(*"MJPG")
            writer = cv2.VideoWriter(str(path), fourcc, fps, size)
        writer.write(image)
    reader.release()
    assert writer is not None
    writer.release()
    return path


@pytest.fixture(scope="session")
def sample_path() -> Path:
    """The demo's input video."""
    assert SAMPLE.is_file(), f"{SAMPLE} is missing"
    return SAMPLE

"""Our ``EdgePredictor`` and the original PyPI ``landingai`` one agree.

Both send the same RGB frame of the sample to one embedded people detector,
with the same JPEG settings (quality 75, PIL's default, which ``landingai``
always uses), and must get the same predictions back. ``landingai`` pins
numpy below 2, so it runs in a virtual environment of its own,
``.venv-landingai/`` in the repository, made on first use and reused.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from streamer.predict import EdgePredictor, serialize_image
from streamer.server import EmbeddedServer
from tests.helpers import ROOT, SAMPLE, require

VENV = ROOT / ".venv-landingai"
INSTALL_TIMEOUT_S = 240
#: Tolerance when the two Pillow versions encode different JPEG bytes.
BOX_TOLERANCE_PX = 4
SCORE_TOLERANCE = 0.02

ORIGINAL = """
import hashlib, json, sys
import numpy as np
from landingai.predict import EdgePredictor
from landingai.utils import serialize_image

image = np.load(sys.argv[2])
predictor = EdgePredictor(host="127.0.0.1", port=int(sys.argv[1]))
predictions = predictor.predict(image)
print(json.dumps({
    "jpeg_sha256": hashlib.sha256(serialize_image(image)).hexdigest(),
    "predictions": [
        {"label_name": p.label_name, "label_index": p.label_index,
         "score": p.score, "bboxes": list(p.bboxes)}
        for p in predictions
    ],
}))
"""


def _landingai_python() -> Path:
    """The environment's interpreter; made (pip install landingai) if missing."""
    python = VENV / "bin" / "python"
    if _imports_landingai(python):
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "landingai"],
    ]
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            _unavailable(f"{' '.join(step[:4])} took over {INSTALL_TIMEOUT_S} s")
        if done.returncode != 0:
            _unavailable(f"{' '.join(step[:4])} failed: {done.stderr[-500:]}")
    if not _imports_landingai(python):
        _unavailable(f"landingai does not import in {VENV}")
    return python


def _imports_landingai(python: Path) -> bool:
    if not python.is_file():
        return False
    check = [str(python), "-c", "import landingai.predict"]
    return subprocess.run(check, capture_output=True, timeout=120).returncode == 0


def _unavailable(reason: str) -> None:
    require(False, f"cannot make the landingai environment: {reason}")


@pytest.fixture(scope="module")
def frame_rgb() -> np.ndarray:
    """Frame 100 of the sample, as the RGB array landingai expects."""
    capture = cv2.VideoCapture(str(SAMPLE))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, image = capture.read()
    capture.release()
    assert ok, f"cannot read frame 100 of {SAMPLE}"
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _run_original(port: int, image: Path) -> dict[str, Any]:
    command = [str(_landingai_python()), "-c", ORIGINAL, str(port), str(image)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _ours(port: int, image: np.ndarray) -> list[dict[str, Any]]:
    with EdgePredictor("127.0.0.1", port, jpeg_quality=75) as predictor:
        predictions = predictor.predict(image)
    return [
        {
            "label_name": p.label_name,
            "label_index": p.label_index,
            "score": p.score,
            "bboxes": list(p.bboxes),
        }
        for p in predictions
    ]


def test_same_predictions_as_landingai(tmp_path: Path, frame_rgb: np.ndarray) -> None:
    # Given one people detector and the same RGB frame for both clients
    image_path = tmp_path / "frame.npy"
    np.save(image_path, frame_rgb)
    with EmbeddedServer("people", host="127.0.0.1") as server:
        # When each client predicts it
        original = _run_original(server.port, image_path)
        ours = _ours(server.port, frame_rgb)

    # Then they find the same people, with the same labels, boxes and scores
    theirs = original["predictions"]
    assert theirs, "the original client found nobody; the frame should hold people"
    same_bytes = (
        hashlib.sha256(serialize_image(frame_rgb, quality=75)).hexdigest()
        == original["jpeg_sha256"]
    )
    if same_bytes:
        assert ours == theirs
        return
    assert len(ours) == len(theirs)
    for mine, other in zip(_by_box(ours), _by_box(theirs), strict=True):
        assert (mine["label_name"], mine["label_index"]) == (
            other["label_name"],
            other["label_index"],
        )
        assert mine["score"] == pytest.approx(other["score"], abs=SCORE_TOLERANCE)
        assert np.allclose(mine["bboxes"], other["bboxes"], atol=BOX_TOLERANCE_PX)


def _by_box(predictions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(predictions, key=lambda p: tuple(p["bboxes"]))

"""serialize_image and serialize_rois tables."""

from __future__ import annotations

import io
import json
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from streamer.predict import serialize_image, serialize_rois

RED_RGB = (255, 0, 0)


def decode(data: bytes) -> npt.NDArray[Any]:
    """Decode with OpenCV as a server would (BGR, alpha kept)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def solid(shape: tuple[int, ...], value: Any, dtype: Any = np.uint8) -> Any:
    image = np.zeros(shape, dtype=dtype)
    image[...] = value
    return image


@pytest.mark.parametrize(
    ("image", "kwargs", "magic", "shape", "pixel"),
    [
        (solid((8, 6), 200), {}, b"\xff\xd8", (8, 6), 200),
        (solid((8, 6, 1), 100), {"format": "PNG"}, b"\x89PNG", (8, 6), 100),
        (
            solid((8, 6, 3), RED_RGB),
            {"format": "PNG"},
            b"\x89PNG",
            (8, 6, 3),
            [0, 0, 255],
        ),
        (
            solid((8, 6, 3), RED_RGB),
            {"format": "png", "color_order": "BGR"},
            b"\x89PNG",
            (8, 6, 3),
            [255, 0, 0],
        ),
        (solid((8, 6, 3), RED_RGB), {"format": "bmp"}, b"BM", (8, 6, 3), [0, 0, 255]),
        (
            solid((8, 6, 4), (255, 0, 0, 128)),
            {},
            b"\x89PNG",
            (8, 6, 4),
            [0, 0, 255, 128],
        ),
        (
            solid((8, 6, 4), (0, 0, 255, 128)),
            {"color_order": "BGR"},
            b"\x89PNG",
            (8, 6, 4),
            [0, 0, 255, 128],
        ),
        (
            solid((8, 6, 4), (255, 0, 0, 9)),
            {"format": "JPG"},
            b"\xff\xd8",
            (8, 6, 3),
            None,
        ),
        (solid((8, 6), 65535, np.uint16), {"format": "PNG"}, b"\x89PNG", (8, 6), 255),
        (
            solid((8, 6), 257 * 100, np.uint16),
            {"format": "PNG"},
            b"\x89PNG",
            (8, 6),
            100,
        ),
        (solid((8, 6), True, np.bool_), {"format": "PNG"}, b"\x89PNG", (8, 6), 255),
    ],
    ids=[
        "gray-jpeg",
        "gray-1ch-png",
        "rgb-png",
        "bgr-png",
        "rgb-bmp",
        "rgba-default-png",
        "bgra-png",
        "rgba-jpeg-drops-alpha",
        "uint16-max",
        "uint16-scaled",
        "bool",
    ],
)
def test_numpy_inputs(
    image: Any, kwargs: dict[str, Any], magic: bytes, shape: tuple[int, ...], pixel: Any
) -> None:
    data = serialize_image(image, **kwargs)

    assert data.startswith(magic)
    decoded = decode(data)
    assert decoded.shape == shape
    if pixel is not None:
        assert decoded[0, 0].tolist() == pixel


@pytest.mark.parametrize("color_order", ["RGB", "BGR"])
def test_jpeg_colours_survive(color_order: str) -> None:
    rgb = solid((32, 32, 3), (250, 10, 10))
    image = rgb if color_order == "RGB" else rgb[:, :, ::-1].copy()

    decoded = decode(serialize_image(image, color_order=color_order))

    blue, green, red = decoded[16, 16].tolist()
    assert red > 230 and green < 30 and blue < 30


@pytest.mark.parametrize(
    ("mode", "expected_magic", "expected_mode"),
    [
        ("RGB", b"\xff\xd8", "RGB"),
        ("L", b"\xff\xd8", "L"),
        ("RGBA", b"\x89PNG", "RGBA"),
        ("P", b"\xff\xd8", "RGB"),
        ("LA", b"\x89PNG", "LA"),
        ("1", b"\xff\xd8", "L"),
        ("I;16", b"\xff\xd8", "L"),
        ("CMYK", b"\xff\xd8", "CMYK"),
    ],
)
def test_pil_modes(mode: str, expected_magic: bytes, expected_mode: str) -> None:
    image = Image.new(mode, (7, 5))

    data = serialize_image(image)

    assert data.startswith(expected_magic)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.size == (7, 5)
        assert decoded.mode == expected_mode


def test_pil_ignores_env_and_numpy_honours_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_IMAGE_SERIALIZATION_FORMAT", "png")

    assert serialize_image(solid((4, 4, 3), 1)).startswith(b"\x89PNG")
    assert serialize_image(Image.new("RGB", (4, 4))).startswith(b"\xff\xd8")


def test_jpeg_quality_changes_size() -> None:
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)

    small = serialize_image(noise, quality=20)
    large = serialize_image(noise, quality=95)

    assert len(small) < len(large)


@pytest.mark.parametrize(
    ("image", "kwargs"),
    [
        (None, {}),
        (np.zeros((0, 4, 3), np.uint8), {}),
        (np.zeros((0,), np.uint8), {}),
        (np.zeros((4, 4, 2), np.uint8), {}),
        (np.zeros((4, 4, 3), np.float32), {}),
        (np.zeros((4,), np.uint8), {}),
        (np.zeros((4, 4, 3), np.uint8), {"format": "GIF"}),
        ("not an image", {}),
    ],
    ids=["none", "empty", "empty-1d", "two-channels", "float", "1d", "gif", "str"],
)
def test_rejects_bad_input(image: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        serialize_image(image, **kwargs)


def test_serialize_rois_matches_wire_format() -> None:
    text = serialize_rois([[(1, 2), (3, 4), (5, 6), (7, 8)]], "single-text")

    assert text == (
        '[[{"location": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 6}, '
        '{"x": 7, "y": 8}], "mode": "single-text"}]]'
    )
    assert json.loads(serialize_rois([], "multi-text")) == [[]]


def test_bgr_frames_round_trip_through_opencv_encoders() -> None:
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)

    png = serialize_image(frame, format="PNG", color_order="BGR")
    jpeg = serialize_image(frame, format="JPEG", quality=95, color_order="BGR")

    assert png[:4] == b"\x89PNG" and jpeg[:2] == b"\xff\xd8"
    decoded_png = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded_png, frame)
    flat = np.full((48, 64, 3), (200, 30, 10), dtype=np.uint8)
    decoded = cv2.imdecode(
        np.frombuffer(serialize_image(flat, color_order="BGR"), np.uint8),
        cv2.IMREAD_COLOR,
    )
    assert np.abs(decoded.astype(int) - flat).max() <= 4

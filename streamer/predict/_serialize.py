"""Encode images and OCR regions for the multipart request body."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = [
    "DEFAULT_JPEG_QUALITY",
    "ColorOrder",
    "ImageFormat",
    "serialize_image",
    "serialize_rois",
]

logger = logging.getLogger(__name__)

ColorOrder = Literal["RGB", "BGR"]
ImageFormat = Literal["JPEG", "PNG", "BMP"]

FORMAT_ENV_VAR = "DEFAULT_IMAGE_SERIALIZATION_FORMAT"
DEFAULT_JPEG_QUALITY = 90
#: zlib level of PNG frames encoded by OpenCV: fast, and lossless as any level.
PNG_LEVEL = 1
_FORMAT_NAMES: dict[str, ImageFormat] = {
    "JPG": "JPEG",
    "JPEG": "JPEG",
    "PNG": "PNG",
    "BMP": "BMP",
}
_JPEG_MODES = frozenset({"L", "RGB", "CMYK"})
_BMP_MODES = frozenset({"1", "L", "P", "RGB", "RGBA"})


def _normalise_format(name: str) -> ImageFormat:
    """Map `jpg`, `JPEG`, `png`, `bmp` (any case) to a PIL format name."""
    try:
        return _FORMAT_NAMES[name.strip().upper()]
    except KeyError:
        raise ValueError(
            f"Image format {name!r} is not supported; use JPEG, PNG or BMP"
        ) from None


def _to_uint8(array: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Convert a bool, uint8 or uint16 array to uint8 (uint16 scaled by 1/257)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        scaled = (array.astype(np.uint32) + 128) // 257
        return scaled.astype(np.uint8)
    raise ValueError(
        f"Image arrays of dtype {array.dtype} are not supported; convert to uint8"
    )


def _array_to_pil(array: npt.NDArray[Any], color_order: ColorOrder) -> Image.Image:
    """Build a PIL image from a gray, 3-channel or 4-channel array."""
    pixels = _to_uint8(array)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(pixels), mode="L")
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(
            f"Image array of shape {array.shape} is not supported; use (H, W), "
            "(H, W, 3) or (H, W, 4)"
        )
    if color_order == "BGR":
        # OpenCV swaps channels about 40 times faster than numpy fancy indexing
        # (0.07 ms against 2.9 ms at 768x576, 6 against 32 ms at 1080p).
        code = cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        swapped = cv2.cvtColor(np.ascontiguousarray(pixels), code)
        pixels = np.asarray(swapped, dtype=np.uint8)
    mode = "RGB" if pixels.shape[2] == 3 else "RGBA"
    return Image.fromarray(np.ascontiguousarray(pixels), mode=mode)


def _pil_for_format(image: Image.Image, fmt: ImageFormat) -> Image.Image:
    """Convert a PIL image to a mode that `fmt` can store."""
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA" if fmt == "PNG" and image.mode == "PA" else "RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        image = Image.fromarray(_to_uint8(np.asarray(image).astype(np.uint16)), "L")
    if fmt == "JPEG" and image.mode not in _JPEG_MODES:
        return image.convert("L" if image.mode in ("1", "LA", "I", "F") else "RGB")
    if fmt == "BMP" and image.mode not in _BMP_MODES:
        return image.convert("RGB")
    return image


def _has_alpha(image: Image.Image) -> bool:
    """Tell whether the image carries an alpha channel."""
    return image.mode in ("RGBA", "LA", "PA")


def _encode_bgr(
    array: npt.NDArray[Any], explicit: str | None, quality: int, color_order: str
) -> bytes | None:
    """Encode an OpenCV frame with OpenCV directly, or return None when that won't do.

    A BGR ``uint8`` frame goes to OpenCV's encoder as it is: no channel swap and
    no PIL image. JPEG is about a third faster than through PIL; PNG uses zlib
    level 1 (lossless as any level, several times faster than PIL's default 6).
    """
    if color_order != "BGR" or array.dtype != np.uint8 or array.ndim != 3:
        return None
    if array.shape[2] != 3:
        return None
    fmt = _normalise_format(explicit or os.environ.get(FORMAT_ENV_VAR) or "JPEG")
    if fmt == "JPEG":
        ext, params = ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif fmt == "PNG":
        ext, params = ".png", [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL]
    else:
        return None
    ok, encoded = cv2.imencode(ext, array, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {array.shape} image as {fmt}")
    return bytes(encoded.tobytes())


def _choose_format(
    image: Image.Image, explicit: str | None, from_array: bool
) -> ImageFormat:
    """Pick the format: argument, then env var (arrays only), then the default."""
    if explicit is not None:
        return _normalise_format(explicit)
    env_value = os.environ.get(FORMAT_ENV_VAR)
    if from_array and env_value:
        return _normalise_format(env_value)
    return "PNG" if _has_alpha(image) else "JPEG"


def serialize_image(
    image: npt.NDArray[Any] | Image.Image,
    *,
    format: str | None = None,
    quality: int = DEFAULT_JPEG_QUALITY,
    color_order: ColorOrder = "RGB",
) -> bytes:
    """Encode an image to the bytes sent as the request's file part.

    Args:
        image: A numpy array (HxW gray, HxWx3, or HxWx4 with alpha; uint8,
            uint16 or bool) or a PIL image.
        format: `"JPEG"`, `"PNG"` or `"BMP"`. When None, numpy input uses the
            `DEFAULT_IMAGE_SERIALIZATION_FORMAT` environment variable if set;
            otherwise images with alpha become PNG and the rest JPEG.
        quality: JPEG quality, 1-95 (default 90; `landingai` used PIL's 75).
        color_order: Channel order of numpy input, `"RGB"` (default, as in
            `landingai`) or `"BGR"` (OpenCV frames). Ignored for PIL input.

    Returns:
        The encoded image. JPEG drops an alpha channel.

    Raises:
        ValueError: The image is None or empty, or its shape, dtype or the format
            is not supported.
    """
    if image is None:
        raise ValueError("Input image must be non-empty, but got None")
    from_array = isinstance(image, np.ndarray)
    if from_array and image.size == 0:
        raise ValueError(f"Input image must be non-empty, but got shape {image.shape}")
    if isinstance(image, np.ndarray):
        fast = _encode_bgr(image, format, quality, color_order)
        if fast is not None:
            return fast
        pil_image = _array_to_pil(image, color_order)
    elif isinstance(image, Image.Image):
        pil_image = image
    else:
        raise ValueError(
            f"Input image must be a numpy array or a PIL image, not {type(image)}"
        )
    if pil_image.width == 0 or pil_image.height == 0:
        raise ValueError(f"Input image must be non-empty, but got {pil_image.size}")

    fmt = _choose_format(pil_image, format, from_array)
    pil_image = _pil_for_format(pil_image, fmt)
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": quality} if fmt == "JPEG" else {}
    pil_image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def serialize_rois(rois: Sequence[Sequence[tuple[int, int]]], mode: str) -> str:
    """Encode OCR regions of interest as the JSON text of the `rois` form field.

    Args:
        rois: Regions, each a 4-point quadrilateral of `(x, y)` pixels.
        mode: `"multi-text"` or `"single-text"`, repeated in every region.

    Returns:
        JSON of a one-image batch: `[[{"location": [{"x":…,"y":…}…], "mode":…}]]`.
    """
    regions = [
        {"location": [{"x": int(x), "y": int(y)} for x, y in roi], "mode": mode}
        for roi in rois
    ]
    return json.dumps([regions])

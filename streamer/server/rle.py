"""Run-length encoding of binary masks in the LandingEdge bitmap format.

A bitmap is a string of runs, ``<count><letter>``, read row-major over the
mask. ``Z`` runs are background (0) and ``N`` runs are foreground (1), as in
the encoding map ``{"Z": 0, "N": 1}`` that every segmentation response
carries. Example: ``2N3Z`` is ``1, 1, 0, 0, 0``.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

DEFAULT_MAP: dict[str, int] = {"Z": 0, "N": 1}

_VALID = re.compile(r"(?:\d+[ZN])*")
_RUN = re.compile(r"(\d+)([ZN])")


def encode_rle(mask: npt.NDArray[np.generic]) -> str:
    """Encode a 2-D mask as an RLE bitmap; any non-zero pixel is foreground.

    Args:
        mask: The mask, of any numeric or boolean dtype.

    Returns:
        The bitmap string; empty for an empty mask.
    """
    flat = np.ascontiguousarray(mask).ravel() != 0
    if flat.size == 0:
        return ""

    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], edges))
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    letters = np.where(flat[starts], "N", "Z")

    return "".join(np.char.add(lengths.astype(str), letters).tolist())


def decode_rle(
    bitmap: str,
    shape: tuple[int, int],
    encoding_map: dict[str, int] | None = None,
) -> npt.NDArray[np.uint8]:
    """Decode an RLE bitmap into a ``uint8`` mask of the given shape.

    Args:
        bitmap: The run string, e.g. ``"2N3Z"``.
        shape: ``(height, width)`` of the mask.
        encoding_map: Value of each letter; ``{"Z": 0, "N": 1}`` by default.

    Returns:
        The mask.

    Raises:
        ValueError: The string is malformed or its runs do not fill ``shape``.
    """
    if _VALID.fullmatch(bitmap) is None:
        raise ValueError(f"RLE bitmap {bitmap[:40]!r} is not a sequence of runs.")
    values_map = encoding_map or DEFAULT_MAP

    runs = _RUN.findall(bitmap)
    counts = np.array([int(count) for count, _ in runs], dtype=np.int64)
    values = np.array([values_map[letter] for _, letter in runs], dtype=np.uint8)
    total = int(counts.sum()) if counts.size else 0
    if total != shape[0] * shape[1]:
        raise ValueError(
            f"RLE bitmap holds {total} pixels, not the {shape[0]}x{shape[1]} "
            "of the mask shape."
        )

    return np.repeat(values, counts).reshape(shape)

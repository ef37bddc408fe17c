"""RLE bitmap encoding and decoding."""

from __future__ import annotations

import numpy as np
import pytest

from streamer.server.rle import decode_rle, encode_rle

from .helpers import read_fixture


@pytest.mark.parametrize(
    ("mask", "bitmap"),
    [
        ([[1, 1, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0]], "2N3Z2N5Z"),
        ([[0, 0], [0, 0]], "4Z"),
        ([[1, 1], [1, 1]], "4N"),
        ([[0, 1], [0, 1]], "1Z1N1Z1N"),
        ([[255, 0, 7]], "1N1Z1N"),
        ([[True], [False]], "1N1Z"),
    ],
)
def test_encode_table(mask: list[list[int]], bitmap: str) -> None:
    array = np.array(mask)

    assert encode_rle(array) == bitmap
    assert np.array_equal(decode_rle(bitmap, array.shape), (array != 0))


def test_encode_empty_mask() -> None:
    assert encode_rle(np.zeros((0, 5), dtype=np.uint8)) == ""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_masks_round_trip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = (rng.random((37, 53)) > 0.7).astype(np.uint8)

    assert np.array_equal(decode_rle(encode_rle(mask), mask.shape), mask)


@pytest.mark.parametrize(
    ("bitmap", "shape", "error"),
    [
        ("2N3", (1, 5), "not a sequence of runs"),
        ("N3Z", (1, 4), "not a sequence of runs"),
        ("2X3Z", (1, 5), "not a sequence of runs"),
        ("2N3Z", (2, 5), "holds 5 pixels"),
        ("", (1, 1), "holds 0 pixels"),
    ],
)
def test_decode_rejects_bad_bitmaps(
    bitmap: str, shape: tuple[int, int], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        decode_rle(bitmap, shape)


def test_decode_uses_the_encoding_map() -> None:
    mask = decode_rle("1N1Z", (1, 2), {"Z": 0, "N": 7})

    assert mask.tolist() == [[7, 0]]


def test_recorded_edge_bitmap_decodes_and_re_encodes() -> None:
    body = read_fixture("edge_segmentation_response.json")
    predictions = body["predictions"]
    shape = (predictions["imageHeight"], predictions["imageWidth"])
    (entry,) = predictions["bitmaps"].values()

    mask = decode_rle(entry["bitmap"], shape)

    assert int(mask.sum()) == 94_553
    assert encode_rle(mask) == entry["bitmap"]

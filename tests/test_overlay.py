from types import SimpleNamespace

import numpy as np
import pytest

from streamer.frames import Frame, Result, Status
from streamer.overlay import Annotator, Hud, color_for


def result(
    width: int, height: int, *preds: object, status: Status = Status.OK
) -> Result:
    image = np.full((height, width, 3), 128, dtype=np.uint8)
    frame = Frame(7, "t", image, 0.0, 0.0)
    return Result(
        frame, status, preds, error="HTTP 502" if status.value == "failed" else None
    )


def box(x0: int, y0: int, x1: int, y1: int) -> SimpleNamespace:
    return SimpleNamespace(
        score=0.9, label_name="person", label_index=1, bboxes=(x0, y0, x1, y1)
    )


def test_box_is_drawn_in_the_label_colour_and_the_input_is_untouched() -> None:
    res = result(200, 150, box(20, 40, 120, 140))
    out = Annotator().draw(res)
    assert out is not None and res.frame.image is not None
    assert (res.frame.image == 128).all()
    assert tuple(out[90, 20]) == color_for(1)
    assert tuple(out[145, 190]) == (128, 128, 128)


@pytest.mark.parametrize("width", [160, 240, 320, 768])
def test_status_line_fits_narrow_frames(width: int) -> None:
    hud = Hud(fps=12.5, lag_s=0.25, ok=12345, failed=6, dropped=789)
    out = Annotator().draw(result(width, 120, status=Status.FAILED), hud)
    assert out is not None
    top = out[:20]
    # The status box is drawn from the left edge and never runs off the right.
    assert (top[:, 0] != 128).any()
    assert (top[:, -1] == 128).all()


def test_masks_are_blended() -> None:
    mask = np.zeros((50, 60), dtype=np.uint8)
    mask[10:20, 10:20] = 1
    seg = SimpleNamespace(
        score=0.8,
        label_name="scratch",
        label_index=2,
        encoded_mask="",
        mask_shape=(50, 60),
        decoded_boolean_mask=mask,
        num_predicted_pixels=100,
    )
    out = Annotator().draw(result(60, 50, seg))
    assert out is not None
    assert tuple(out[15, 15]) != (128, 128, 128)
    assert tuple(out[40, 50]) == (128, 128, 128)


def test_frame_without_picture_draws_nothing() -> None:
    frame = Frame(1, "t", None, 0.0, 0.0, error="cannot decode a.png")
    assert Annotator().draw(Result(frame, Status.FAILED, error=frame.error)) is None

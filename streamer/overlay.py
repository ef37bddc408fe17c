"""Drawing predictions and a status line onto frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from streamer.config import OverlayConfig
from streamer.frames import Image, Result, Status

#: Distinct, readable BGR colours, picked by label index.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (56, 56, 255),
    (151, 157, 255),
    (31, 112, 255),
    (29, 178, 255),
    (49, 210, 207),
    (10, 249, 72),
    (23, 204, 146),
    (134, 219, 61),
    (211, 188, 0),
    (209, 124, 0),
    (183, 46, 153),
    (168, 153, 44),
)
FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (40, 40, 220)
#: Font scale of the status line, and the smallest scale still readable.
HUD_SCALE = 0.45
MIN_SCALE = 0.3


def color_for(label_index: int) -> tuple[int, int, int]:
    """The colour used for a label everywhere."""
    return PALETTE[label_index % len(PALETTE)]


@dataclass(frozen=True, slots=True)
class Hud:
    """Live figures for the status line."""

    fps: float
    lag_s: float
    ok: int
    failed: int
    dropped: int


class Annotator:
    """Draws a result's predictions and a status line on a copy of its frame."""

    def __init__(self, config: OverlayConfig | None = None) -> None:
        self.config = config or OverlayConfig()

    def draw(self, result: Result, hud: Hud | None = None) -> Image | None:
        """Return an annotated copy of the frame, or ``None`` if it has no image."""
        image = result.frame.image
        if image is None:
            return None
        canvas = image.copy()
        preds = list(result.predictions)
        if self.config.masks:
            self._draw_masks(canvas, [p for p in preds if _kind(p) == "segmentation"])
        for pred in preds:
            kind = _kind(pred)
            if kind == "object_detection" and self.config.boxes:
                self._draw_box(canvas, pred)
            elif kind == "ocr":
                self._draw_ocr(canvas, pred)
        classes = [p for p in preds if _kind(p) == "classification"]
        if classes:
            self._draw_class(canvas, classes[0])
        if self.config.hud:
            self._draw_hud(canvas, result, hud)
        return canvas

    def _caption(self, pred: Any) -> str:
        parts = []
        if self.config.labels:
            parts.append(str(getattr(pred, "label_name", getattr(pred, "text", ""))))
        if self.config.scores:
            parts.append(f"{pred.score:.2f}")
        return " ".join(parts)

    def _draw_box(self, canvas: Image, pred: Any) -> None:
        xmin, ymin, xmax, ymax = (int(v) for v in pred.bboxes)
        color = color_for(int(pred.label_index))
        cv2.rectangle(
            canvas,
            pt1=(xmin, ymin),
            pt2=(xmax, ymax),
            color=color,
            thickness=self.config.thickness,
            lineType=cv2.LINE_AA,
        )
        caption = self._caption(pred)
        if caption:
            _label(canvas, caption, (xmin, ymin), color)

    def _draw_masks(self, canvas: Image, preds: Sequence[Any]) -> None:
        if not preds:
            return
        height, width = canvas.shape[:2]
        layer = canvas.copy()
        for pred in preds:
            mask = np.asarray(pred.decoded_boolean_mask, dtype=np.uint8)
            if mask.shape != (height, width):
                scaled = cv2.resize(
                    mask, dsize=(width, height), interpolation=cv2.INTER_NEAREST
                )
                mask = np.asarray(scaled, dtype=np.uint8)
            layer[mask.astype(bool)] = color_for(int(pred.label_index))
        alpha = self.config.mask_alpha
        cv2.addWeighted(layer, alpha, canvas, 1.0 - alpha, 0.0, dst=canvas)

    def _draw_ocr(self, canvas: Image, pred: Any) -> None:
        points = np.array(pred.location, dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(
            canvas,
            pts=[points],
            isClosed=True,
            color=color_for(0),
            thickness=self.config.thickness,
            lineType=cv2.LINE_AA,
        )
        x, y = (int(v) for v in points.min(axis=0)[0])
        _label(canvas, self._caption(pred), (x, y), color_for(0))

    def _draw_class(self, canvas: Image, pred: Any) -> None:
        _label(canvas, self._caption(pred), (8, canvas.shape[0] - 8), (51, 51, 51))

    def _draw_hud(self, canvas: Image, result: Result, hud: Hud | None) -> None:
        head = f"#{result.frame.index} {result.status.value}"
        tail = ""
        if result.status is not Status.OK and result.error:
            tail = f" | {result.error[:60]}"
        full = compact = head
        if hud is not None:
            full += (
                f" | {hud.fps:.1f} fps | lag {hud.lag_s * 1000:.0f} ms"
                f" | ok {hud.ok} failed {hud.failed} dropped {hud.dropped}"
            )
            compact += (
                f" {hud.fps:.0f}fps {hud.lag_s * 1000:.0f}ms"
                f" {hud.ok}/{hud.failed}/{hud.dropped}"
            )
        color = RED if result.status is Status.FAILED else BLACK
        text, scale = _fit((full + tail, compact + tail), canvas.shape[1], HUD_SCALE)
        _label(canvas, text, (0, 0), color, below=True, scale=scale)


def _fit(texts: tuple[str, ...], width: int, scale: float) -> tuple[str, float]:
    """The first text that fits ``width`` at a readable size, shrunk as needed.

    When none fits even at ``MIN_SCALE``, the last is shortened to fit.
    """

    def pixels(candidate: str, at: float) -> int:
        size = cv2.getTextSize(candidate, fontFace=FONT, fontScale=at, thickness=1)
        return int(size[0][0]) + 7  # the label box is 6 px wider, inclusive

    for text in texts:
        if pixels(text, scale) < width:
            return text, scale
    for text in texts:
        smaller = scale
        while smaller > MIN_SCALE and pixels(text, smaller) >= width:
            smaller = max(MIN_SCALE, smaller - 0.02)
        if pixels(text, smaller) < width:
            return text, smaller
    text = texts[-1]
    while len(text) > 4 and pixels(text, MIN_SCALE) >= width:
        text = text[:-4] + "..."
    return text, MIN_SCALE


def _label(
    canvas: Image,
    text: str,
    anchor: tuple[int, int],
    color: tuple[int, int, int],
    *,
    below: bool = False,
    scale: float = 0.5,
) -> None:
    """Write ``text`` on a filled box above (or below) ``anchor``."""
    (tw, th), base = cv2.getTextSize(text, fontFace=FONT, fontScale=scale, thickness=1)
    x, y = anchor
    top = y if below else max(y - th - base - 4, 0)
    bottom = top + th + base + 4
    cv2.rectangle(
        canvas, pt1=(x, top), pt2=(x + tw + 6, bottom), color=color, thickness=-1
    )
    cv2.putText(
        canvas,
        text,
        org=(x + 3, bottom - base - 2),
        fontFace=FONT,
        fontScale=scale,
        color=WHITE,
        thickness=1,
        lineType=cv2.LINE_AA,
    )


def _kind(pred: Any) -> str:
    """The prediction's kind, by the fields it has (works for any client types)."""
    if hasattr(pred, "text") and hasattr(pred, "location"):
        return "ocr"
    if hasattr(pred, "encoded_mask"):
        return "segmentation"
    if hasattr(pred, "bboxes"):
        return "object_detection"
    return "classification"


def prediction_kind(pred: Any) -> str:
    """Public name of the prediction's kind, as used in records."""
    return _kind(pred)

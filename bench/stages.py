"""Client cost per frame, stage by stage, on one thread.

Each stage runs the product's own code over the same decoded frames:
decode (OpenCV read), encode (the predictor's JPEG serialisation), request and
parse (``EdgePredictor`` against a null server answering at once), draw (the
overlay with five boxes and the status line) and write (the H.264 video sink,
its final flush shared out over the frames).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from bench.harness import OUT, Budget, decode_rate
from streamer.config import VideoSinkConfig
from streamer.frames import Frame, Image, Result, Status
from streamer.overlay import Annotator, Hud
from streamer.predict import EdgePredictor, ObjectDetectionPrediction
from streamer.server import EmbeddedServer
from streamer.sinks import VideoSink
from streamer.sources import SourceInfo

T = TypeVar("T")

STAGES = ("decode", "encode", "request", "parse", "draw", "write")
#: Measured beside the stages, not part of a frame's path by default.
ALTERNATIVES = ("encode_png",)


def measure(path: Path, frames: int, max_s: float) -> dict[str, float]:
    """Milliseconds a frame for every stage over the first ``frames`` of ``path``."""
    images = _decode(path, frames, max_s)
    # Decoding is timed on its own pass, as the source thread does it: frames
    # are not kept, so fresh memory for each one does not count against it.
    costs = {"decode": 1 / decode_rate(path, frames, max_s)}
    costs["encode"] = _per_item(images, _encode)
    costs["encode_png"] = _per_item(images[:20], _encode_png)
    costs.update(_request_and_parse(images))
    results = [_result(i, image) for i, image in enumerate(images)]
    annotator = Annotator()
    hud = Hud(25.0, 0.12, 10, 0, 0)
    annotated: list[Image] = []
    costs["draw"] = _per_item(
        results, lambda r: annotated.append(_must(annotator.draw(r, hud)))
    )
    costs["write"] = _write(path.stem, results, annotated)
    return {name: 1000 * costs[name] for name in (*STAGES, *ALTERNATIVES)}


def _decode(path: Path, frames: int, max_s: float) -> list[Image]:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    budget = Budget(max_s)
    images: list[Image] = []
    while len(images) < frames and not budget.over:
        ok, image = capture.read()
        if not ok:
            break
        images.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    if not images:
        raise RuntimeError(f"no frame could be read from {path}")
    return images


def _encode(image: Image) -> None:
    from streamer.predict import serialize_image

    serialize_image(image, format="JPEG", quality=90, color_order="BGR")


def _encode_png(image: Image) -> None:
    from streamer.predict import serialize_image

    serialize_image(image, format="PNG", color_order="BGR")


def _request_and_parse(images: list[Image]) -> dict[str, float]:
    totals = {"request_s": 0.0, "parse_s": 0.0}
    with EmbeddedServer("null") as server:
        predictor = EdgePredictor("127.0.0.1", server.port, color_order="BGR")
        predictor.predict(images[0])
        for image in images:
            predictor.predict(image)
            for key in totals:
                totals[key] += predictor.last_timings[key]
        predictor.close()
    return {
        "request": totals["request_s"] / len(images),
        "parse": totals["parse_s"] / len(images),
    }


def _result(index: int, image: Image) -> Result:
    height, width = image.shape[:2]
    boxes = [
        ObjectDetectionPrediction(
            id=f"p{k}",
            score=0.9 - 0.1 * k,
            label_name="person",
            label_index=1,
            bboxes=(
                width * k // 6,
                height // 4,
                width * k // 6 + width // 10,
                height // 4 + height // 3,
            ),
        )
        for k in range(5)
    ]
    now = time.monotonic()
    frame = Frame(index, "bench", image, now, time.time(), media_time=index / 25)
    return Result(frame, Status.OK, tuple(boxes))


def _write(stem: str, results: list[Result], annotated: list[Image]) -> float:
    path = OUT / "stages" / f"{stem}.mp4"
    sink = VideoSink(VideoSinkConfig(kind="video", path=str(path)))
    height, width = annotated[0].shape[:2]
    sink.open(SourceInfo(width=width, height=height, fps=25.0))
    started = time.perf_counter()
    for result, image in zip(results, annotated, strict=True):
        sink.write(result, image)
    sink.close()
    return (time.perf_counter() - started) / len(results)


def _per_item(items: Sequence[T], work: Callable[[T], object]) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return (time.perf_counter() - started) / len(items)


def _must(image: Image | None) -> Image:
    if image is None:
        raise RuntimeError("the overlay returned no picture")
    return image

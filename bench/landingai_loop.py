"""The original ``landingai`` SDK over a video: run in its own virtual environment.

Usage: ``python landingai_loop.py MODE PORT VIDEO FRAMES MAX_S [WORKERS]``, where
MODE is ``loop`` (``EdgePredictor.predict`` one frame after another, as the
SDK's examples do) or ``frameset`` (``FrameSet.run_predict`` with WORKERS
threads, over chunks of frames). Prints one JSON object: frames, elapsed_s,
failed. Decoding is part of the measured time, as it is for the pipeline.
"""

from __future__ import annotations

import json
import sys
import time

import cv2
from landingai.pipeline.frameset import Frame, FrameSet
from landingai.predict import EdgePredictor

CHUNK = 48


def plain_loop(
    predictor: EdgePredictor, capture: cv2.VideoCapture, frames: int, deadline: float
) -> tuple[int, int]:
    done = failed = 0
    while done + failed < frames and time.monotonic() < deadline:
        ok, image = capture.read()
        if not ok:
            break
        try:
            predictor.predict(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            done += 1
        except Exception:
            failed += 1
    return done, failed


def frameset_chunks(
    predictor: EdgePredictor,
    capture: cv2.VideoCapture,
    frames: int,
    deadline: float,
    workers: int,
) -> tuple[int, int]:
    done = 0
    while done < frames and time.monotonic() < deadline:
        chunk = FrameSet()
        while len(chunk) < min(CHUNK, frames - done):
            ok, image = capture.read()
            if not ok:
                break
            chunk.append(Frame.from_array(image, is_bgr=True))
        if not len(chunk):
            break
        chunk.run_predict(predictor, num_workers=workers)
        done += len(chunk)
    return done, 0


def main(argv: list[str]) -> int:
    mode, port, video, frames, max_s = argv[:5]
    workers = int(argv[5]) if len(argv) > 5 else 1
    predictor = EdgePredictor(host="127.0.0.1", port=int(port))
    capture = cv2.VideoCapture(video)
    started = time.monotonic()
    deadline = started + float(max_s)
    if mode == "loop":
        done, failed = plain_loop(predictor, capture, int(frames), deadline)
    else:
        done, failed = frameset_chunks(
            predictor, capture, int(frames), deadline, workers
        )
    elapsed = time.monotonic() - started
    capture.release()
    print(json.dumps({"frames": done, "failed": failed, "elapsed_s": elapsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

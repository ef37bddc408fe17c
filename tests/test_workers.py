import queue
import threading
import time
from typing import Any

import numpy as np

from streamer.frames import Frame, Result, Status
from streamer.queueing import FrameQueue, QueuePolicy
from streamer.workers import WorkerPool


class FakePredictor:
    """Encodes to bytes naming the frame; predicting echoes what it was sent."""

    def __init__(self) -> None:
        self.thread = threading.current_thread().name
        self.last_timings = {"request_s": 0.001, "parse_s": 0.0}

    def encode(self, image: np.ndarray) -> bytes:
        if image[0, 0, 0] == 3:
            raise ValueError("unsupported picture")
        return bytes([int(image[0, 0, 0])])

    def predict(self, payload: Any) -> list[Any]:
        assert isinstance(payload, bytes), "workers send the encoded bytes"
        if payload == b"\x05":
            raise RuntimeError("boom")
        return [payload[0]]


def run_pool(frames: list[Frame], abort: threading.Event | None = None) -> list[Result]:
    source = FrameQueue(16, QueuePolicy.BLOCK)
    results: queue.Queue[Result] = queue.Queue()
    pool = WorkerPool(source, FakePredictor, results, count=3, abort=abort)
    pool.start()
    for frame in frames:
        source.put(frame)
    source.close()
    assert pool.join(timeout=10)
    return sorted(
        (results.get_nowait() for _ in range(results.qsize())),
        key=lambda r: r.frame.index,
    )


def frame(index: int, with_image: bool = True) -> Frame:
    image = np.full((4, 4, 3), index, dtype=np.uint8) if with_image else None
    return Frame(index, "t", image, time.monotonic(), time.time(), error="unreadable")


def test_every_frame_leaves_once_with_its_reason() -> None:
    frames = [frame(i) for i in range(8)] + [frame(8, with_image=False)]
    results = run_pool(frames)

    assert [r.frame.index for r in results] == list(range(9))
    by_index = {r.frame.index: r for r in results}
    assert by_index[0].status is Status.OK and by_index[0].predictions == (0,)
    assert by_index[3].status is Status.FAILED
    assert "cannot encode the picture: unsupported picture" in str(by_index[3].error)
    assert by_index[5].status is Status.FAILED and "boom" in str(by_index[5].error)
    assert by_index[8].status is Status.FAILED and by_index[8].error == "unreadable"
    ok = [r for r in results if r.status is Status.OK]
    assert all({"encode_s", "request_s", "queue_s"} <= set(r.timings) for r in ok)
    assert {r.worker for r in ok} <= {"worker-0", "worker-1", "worker-2"}


def test_aborted_pool_drops_what_it_has_not_sent() -> None:
    abort = threading.Event()
    abort.set()
    results = run_pool([frame(i) for i in range(5)], abort)
    assert [r.status for r in results] == [Status.DROPPED] * 5
    assert all("aborted" in str(r.error) for r in results)

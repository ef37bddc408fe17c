import threading
import time

import numpy as np
import pytest

from streamer.frames import Frame
from streamer.queueing import FrameQueue, QueueClosed, QueuePolicy


def make_frame(index: int) -> Frame:
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    return Frame(index, "test", image, time.monotonic(), time.time())


@pytest.mark.parametrize(
    ("policy", "kept", "dropped"),
    [
        (QueuePolicy.DROP_OLDEST, [2, 3, 4], [0, 1]),
        (QueuePolicy.DROP_NEWEST, [0, 1, 2], [3, 4]),
    ],
)
def test_full_queue_drops_by_policy_and_returns_what_it_dropped(
    policy: QueuePolicy, kept: list[int], dropped: list[int]
) -> None:
    queue = FrameQueue(3, policy)
    out = [f.index for i in range(5) for f in queue.put(make_frame(i))]
    queue.close()
    got = []
    while (item := queue.get(timeout=0.1)) is not None:
        got.append(item[0].index)
    assert out == dropped
    assert got == kept
    counters = queue.counters()
    assert (counters.put, counters.got, counters.dropped) == (5, 3, 2)


def test_block_policy_waits_for_room_and_loses_nothing() -> None:
    queue = FrameQueue(2, QueuePolicy.BLOCK)
    received: list[int] = []

    def consume() -> None:
        while (item := queue.get(timeout=2)) is not None:
            received.append(item[0].index)
            time.sleep(0.005)

    consumer = threading.Thread(target=consume)
    consumer.start()
    dropped = [f for i in range(50) for f in queue.put(make_frame(i))]
    queue.close()
    consumer.join(timeout=5)
    assert dropped == []
    assert received == list(range(50))


def test_blocked_put_is_released_by_close_and_reports_the_frame_dropped() -> None:
    queue = FrameQueue(1, QueuePolicy.BLOCK)
    queue.put(make_frame(0))
    threading.Timer(0.1, queue.close).start()
    assert [f.index for f in queue.put(make_frame(1))] == [1]
    with pytest.raises(QueueClosed):
        queue.put(make_frame(2))


def test_get_reports_time_waited_and_finished_after_close() -> None:
    queue = FrameQueue(4, QueuePolicy.BLOCK)
    queue.put(make_frame(0))
    time.sleep(0.05)
    item = queue.get()
    assert item is not None and item[1] >= 0.04
    assert not queue.finished
    queue.close()
    assert queue.finished
    assert queue.get(timeout=0.01) is None


def test_drain_empties_the_queue_and_counts_drops() -> None:
    queue = FrameQueue(4, QueuePolicy.BLOCK)
    for i in range(3):
        queue.put(make_frame(i))
    assert [f.index for f in queue.drain()] == [0, 1, 2]
    assert queue.counters().dropped == 3


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FrameQueue(0, QueuePolicy.BLOCK)

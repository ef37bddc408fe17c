import random
import time

from streamer.frames import Frame, Result, Status
from streamer.reorder import Reorderer


def result(index: int) -> Result:
    frame = Frame(index, "test", None, time.monotonic(), time.time())
    return Result(frame, Status.OK)


def test_results_come_out_in_issue_order_whatever_order_they_arrive() -> None:
    reorder = Reorderer()
    indices = list(range(200))
    for i in indices:
        reorder.issue(i)
    arrival = indices[:]
    random.Random(7).shuffle(arrival)
    out = [r.frame.index for i in arrival for r in reorder.push(result(i))]
    assert out == indices
    assert reorder.pending == 0


def test_gaps_in_indices_do_not_stall_release() -> None:
    reorder = Reorderer()
    for i in (0, 5, 9):
        reorder.issue(i)
    assert reorder.push(result(9)) == []
    assert [r.frame.index for r in reorder.push(result(0))] == [0]
    assert [r.frame.index for r in reorder.push(result(5))] == [5, 9]


def test_flush_returns_held_results_sorted() -> None:
    reorder = Reorderer()
    for i in range(3):
        reorder.issue(i)
    reorder.push(result(2))
    reorder.push(result(1))
    assert [r.frame.index for r in reorder.flush()] == [1, 2]

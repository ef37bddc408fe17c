"""Putting results back in the order their frames were produced."""

from __future__ import annotations

import collections
import heapq
import threading

from streamer.frames import Result


class Reorderer:
    """Releases results in the order ``issue`` was called for their frames.

    Every issued frame comes back exactly once (as ok, failed or dropped), so
    nothing is waited on forever: a result is held only until the results of
    the frames issued before it have arrived.
    """

    def __init__(self) -> None:
        self._issued: collections.deque[int] = collections.deque()
        self._held: list[tuple[int, int, Result]] = []
        self._lock = threading.Lock()
        self._tiebreak = 0

    def issue(self, index: int) -> None:
        """Note that the frame ``index`` entered the pipeline (source thread)."""
        with self._lock:
            self._issued.append(index)

    def push(self, result: Result) -> list[Result]:
        """Accept a result; return those now ready, in order."""
        with self._lock:
            self._tiebreak += 1
            heapq.heappush(self._held, (result.frame.index, self._tiebreak, result))
            ready = []
            while self._held and self._issued and self._held[0][0] == self._issued[0]:
                ready.append(heapq.heappop(self._held)[2])
                self._issued.popleft()
            return ready

    def flush(self) -> list[Result]:
        """Return every held result in index order (at the end of a run)."""
        with self._lock:
            ready = [heapq.heappop(self._held)[2] for _ in range(len(self._held))]
            self._issued.clear()
            return ready

    @property
    def pending(self) -> int:
        """How many results are held waiting for earlier ones."""
        with self._lock:
            return len(self._held)

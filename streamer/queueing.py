"""The bounded frame queue between a source and the workers."""

from __future__ import annotations

import collections
import enum
import threading
import time
from dataclasses import dataclass

from streamer.frames import Frame


class QueuePolicy(str, enum.Enum):
    """What ``put`` does when the queue is full.

    ``block`` waits for room (back-pressure, nothing lost: files), ``drop_oldest``
    discards the oldest queued frame (the newest wins, lag stays bounded: live
    sources), ``drop_newest`` discards the frame being put.
    """

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"


@dataclass(frozen=True, slots=True)
class QueueCounters:
    """A snapshot of the queue's counters."""

    put: int
    got: int
    dropped: int
    depth: int


class QueueClosed(Exception):
    """Raised by ``put`` after ``close``."""


class FrameQueue:
    """A bounded FIFO of frames with a drop policy.

    Frames it discards are handed back to the caller of ``put`` so that they can be
    accounted for; the queue never loses a frame silently.
    """

    def __init__(self, maxsize: int, policy: QueuePolicy) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.policy = policy
        self._items: collections.deque[tuple[Frame, float]] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._put = 0
        self._got = 0
        self._dropped = 0

    def put(self, frame: Frame, timeout: float | None = None) -> list[Frame]:
        """Queue a frame; return the frames discarded to make room (maybe itself).

        With the ``block`` policy a full queue waits for room, up to ``timeout``
        seconds if given, then discards ``frame`` itself.
        """
        with self._cond:
            if self._closed:
                raise QueueClosed("the frame queue is closed")
            self._put += 1
            dropped = self._make_room(frame, timeout)
            if not dropped or dropped[0] is not frame:
                self._items.append((frame, time.monotonic()))
                self._cond.notify()
            self._dropped += len(dropped)
            return dropped

    def _make_room(self, frame: Frame, timeout: float | None) -> list[Frame]:
        if len(self._items) < self.maxsize:
            return []
        if self.policy is QueuePolicy.DROP_NEWEST:
            return [frame]
        if self.policy is QueuePolicy.DROP_OLDEST:
            return [self._items.popleft()[0]]
        ready = self._cond.wait_for(
            lambda: len(self._items) < self.maxsize or self._closed, timeout
        )
        if self._closed or not ready:
            return [frame]
        return []

    def get(self, timeout: float | None = None) -> tuple[Frame, float] | None:
        """Take the oldest frame and the seconds it waited in the queue.

        Returns ``None`` when the queue is closed and empty, or on timeout.
        """
        with self._cond:
            ready = self._cond.wait_for(lambda: self._items or self._closed, timeout)
            if not ready or not self._items:
                return None
            frame, queued_at = self._items.popleft()
            self._got += 1
            self._cond.notify_all()
            return frame, time.monotonic() - queued_at

    def drain(self) -> list[Frame]:
        """Remove and return every queued frame (used when aborting)."""
        with self._cond:
            frames = [item[0] for item in self._items]
            self._items.clear()
            self._dropped += len(frames)
            self._cond.notify_all()
            return frames

    def close(self) -> None:
        """Refuse new frames; ``get`` returns ``None`` once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        """True once the queue is closed and empty."""
        with self._cond:
            return self._closed and not self._items

    def counters(self) -> QueueCounters:
        """Return the current counters."""
        with self._cond:
            return QueueCounters(self._put, self._got, self._dropped, len(self._items))

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

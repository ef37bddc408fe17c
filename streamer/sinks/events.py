"""Turning per-frame predictions into ``appeared`` and ``disappeared`` events.

A label *appears* once it has been seen (score at least ``min_score``) in
``appear_frames`` consecutive ``ok`` frames, and *disappears* once an appeared
label has been missing from ``disappear_frames`` consecutive ``ok`` frames.
Failed and dropped frames say nothing about the scene, so they neither extend
nor break a run of frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streamer.frames import Result, Status


@dataclass
class _Track:
    seen: int = 0
    missing: int = 0
    active: bool = False
    last_score: float = 0.0
    last_index: int = -1


class EventTracker:
    """Per-label counters of consecutive frames seen and missing."""

    def __init__(
        self,
        appear_frames: int,
        disappear_frames: int,
        min_score: float = 0.0,
        labels: Iterable[str] | None = None,
    ) -> None:
        self.appear_frames = appear_frames
        self.disappear_frames = disappear_frames
        self.min_score = min_score
        self.labels = None if labels is None else frozenset(labels)
        self._tracks: dict[str, _Track] = {}

    def update(self, result: Result) -> list[dict[str, Any]]:
        """Feed one result in frame order; return the events it triggers."""
        if result.status is not Status.OK:
            return []
        best = self._best_scores(result)
        events = []
        for label in sorted(best.keys() | self._tracks.keys()):
            track = self._tracks.setdefault(label, _Track())
            event = self._step(label, track, best.get(label), result)
            if event is not None:
                events.append(event)
            if not track.active and track.seen == 0:
                del self._tracks[label]
        return events

    def _best_scores(self, result: Result) -> dict[str, float]:
        best: dict[str, float] = {}
        for pred in result.predictions:
            label = getattr(pred, "label_name", None)
            score = float(pred.score)
            if label is None or score < self.min_score:
                continue
            if self.labels is not None and label not in self.labels:
                continue
            best[label] = max(score, best.get(label, 0.0))
        return best

    def _step(
        self, label: str, track: _Track, score: float | None, result: Result
    ) -> dict[str, Any] | None:
        if score is not None:
            track.seen, track.missing = track.seen + 1, 0
            track.last_score, track.last_index = score, result.frame.index
            if not track.active and track.seen >= self.appear_frames:
                track.active = True
                return _event("appeared", label, result, score, track)
            return None
        track.seen, track.missing = 0, track.missing + 1
        if track.active and track.missing >= self.disappear_frames:
            track.active = False
            return _event("disappeared", label, result, track.last_score, track)
        return None


def _event(
    kind: str, label: str, result: Result, score: float, track: _Track
) -> dict[str, Any]:
    frame = result.frame
    return {
        "event": kind,
        "label": label,
        "frame": frame.index,
        "media_time": None if frame.media_time is None else round(frame.media_time, 6),
        "wall_time": round(frame.wall_time, 6),
        "score": round(score, 5),
        "last_seen_frame": track.last_index,
        "source": frame.source_id,
    }

"""Pieces shared by every benchmark: budgets, bounded sources, pipeline runs."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2

from streamer.config import parse_config
from streamer.frames import Frame
from streamer.pipeline import Pipeline, Summary
from streamer.sinks import Sink
from streamer.sources import FileSource, Source, SourceInfo

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SAMPLE = ROOT / "samples" / "vtest.avi"
CAMERA_CLIP = OUT / "clips" / "vtest25.mp4"
HD_CLIP = OUT / "clips" / "hd1080.mp4"


class Budget:
    """A wall-clock deadline that loops check before each step."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    @property
    def left(self) -> float:
        """Seconds until the deadline, never negative."""
        return max(self.deadline - time.monotonic(), 0.0)

    @property
    def over(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.deadline


class BoundedSource:
    """A file source that stops after ``max_frames`` frames or ``max_s`` seconds.

    With ``loop`` the file is read again from the start whenever it ends, and
    frame indices keep counting up, so a short clip stands in for a long run.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_frames: int,
        max_s: float,
        realtime: bool = False,
        loop: bool = False,
        live: bool = False,
    ) -> None:
        self.path = path
        self.name = path.name
        self.max_frames = max_frames
        self.max_s = max_s
        self.realtime = realtime
        self.loop = loop
        self.live = live
        self._file: FileSource | None = None

    def open(self) -> SourceInfo:
        """Open the file; report a frame count only when it is certain."""
        self._file = FileSource(str(self.path), realtime=self.realtime)
        info = self._file.open()
        count = info.frame_count
        known = None if self.loop or count is None else min(count, self.max_frames)
        return dataclasses.replace(info, frame_count=known, live=self.live)

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Yield frames until a bound, the end of the file (unless looping) or stop."""
        budget = Budget(self.max_s)
        index = 0
        while self._file is not None and not stop.is_set():
            for frame in self._file.frames(stop):
                if index >= self.max_frames or budget.over:
                    return
                yield dataclasses.replace(frame, index=index)
                index += 1
            if not self.loop:
                return
            self._file.close()
            self._file = FileSource(str(self.path), realtime=self.realtime)
            self._file.open()

    def close(self) -> None:
        """Release the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def pipeline_config(
    port: int,
    *,
    workers: int,
    sinks: Sequence[dict[str, Any]] = (),
    policy: str = "block",
    queue_size: int | None = None,
) -> str:
    """YAML for a run against an edge server already listening on ``port``."""
    lines = [
        "source: {url: samples/vtest.avi}",
        f"predictor: {{kind: edge, host: 127.0.0.1, port: {port}, max_attempts: 1}}",
        f"pipeline: {{workers: {workers}, queue_size: {queue_size or 2 * workers},"
        f" policy: {policy}, progress: false}}",
        "sinks:",
    ]
    lines += [f"  - {{kind: {s['kind']}, path: {s['path']}}}" for s in sinks]
    if not sinks:
        lines[-1] = "sinks: []"
    return "\n".join(lines) + "\n"


def run_pipeline(yaml_text: str, source: Source, sinks: Sequence[Sink] = ()) -> Summary:
    """Run one pipeline over ``source`` and return its summary."""
    pipeline = Pipeline(parse_config(yaml_text), source=source, sinks=sinks)
    return pipeline.run()


def decode_rate(path: Path, max_frames: int, max_s: float) -> float:
    """Frames per second of a bare OpenCV read loop over ``path``."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    budget = Budget(max_s)
    started = time.perf_counter()
    count = 0
    try:
        while count < max_frames and not budget.over:
            ok, _ = capture.read()
            if not ok:
                break
            count += 1
    finally:
        capture.release()
    return count / (time.perf_counter() - started)


def make_hd_clip(path: Path, seconds: int = 4) -> Path:
    """An H.264 1920x1080 25 fps clip: the sample scaled up (ffmpeg, at bench time)."""
    return _ffmpeg_clip(path, ["-t", str(seconds), "-vf", "scale=1920:1080"])


def make_camera_clip(path: Path, loops: int = 1) -> Path:
    """The sample (10 fps) retimed to 25 fps, H.264: a camera's frame rate.

    With ``loops`` above 1 the sample is repeated that many times (a file
    ``<stem>-x<loops>.mp4`` beside ``path``), for sources that cannot loop.
    """
    if loops > 1:
        path = path.with_name(f"{path.stem}-x{loops}.mp4")
        repeat = ["-stream_loop", str(loops - 1)]
        return _ffmpeg_clip(path, ["-vf", "setpts=N/25/TB"], before=repeat)
    return _ffmpeg_clip(path, ["-vf", "setpts=N/25/TB"])


def _ffmpeg_clip(path: Path, options: list[str], before: Sequence[str] = ()) -> Path:
    if path.is_file():
        return path
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed; the bench's clips need it")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    command = [ffmpeg, "-loglevel", "error", "-y", *before, "-i", str(SAMPLE)]
    command += options
    command += ["-r", "25", "-c:v", "libx264", "-preset", "veryfast"]
    command += ["-g", "25", "-pix_fmt", "yuv420p", str(partial)]
    subprocess.run(command, check=True, timeout=180)
    partial.rename(path)
    return path

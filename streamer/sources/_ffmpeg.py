"""OpenCV's FFmpeg backend: capture options, quiet logging and ffprobe.

OpenCV reads FFmpeg's demuxer options from the process-wide environment
variable ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` when a capture opens. Two sources
that want different options (say one RTSP camera over TCP, one over UDP) must
not open at the same time, so ``capture_options`` lets opens with equal
options overlap and makes different ones take turns.

FFmpeg's own log lines go to stderr and may quote a URL; they are silenced
unless the user set ``OPENCV_FFMPEG_LOGLEVEL`` (for debugging, at the risk of
showing a camera's password).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from streamer.exceptions import SourceError

logger = logging.getLogger(__name__)

OPTIONS_VARIABLE = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
#: FFmpeg's AV_LOG_QUIET.
_QUIET = "-8"
PROBE_TIMEOUT_S = 20.0

#: What the user had set before we started changing it; their keys win.
_USER_OPTIONS = os.environ.get(OPTIONS_VARIABLE, "")
_options_turn = threading.Condition()
_options_active: str | None = None
_options_users = 0


def quiet_ffmpeg() -> None:
    """Silence FFmpeg's and OpenCV's stderr chatter unless the user asked for it."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", _QUIET)
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover - very old OpenCV builds
        pass


def format_options(options: Mapping[str, str]) -> str:
    """Write options the way OpenCV parses them: ``key;value|key;value``."""
    return "|".join(f"{key};{value}" for key, value in options.items())


def merged_options(own: Mapping[str, str]) -> str:
    """Our options with the user's ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` on top."""
    merged = dict(own)
    for pair in filter(None, _USER_OPTIONS.split("|")):
        key, _, value = pair.partition(";")
        merged[key] = value
    return format_options(merged)


@contextmanager
def capture_options(value: str, wait_s: float) -> Iterator[None]:
    """Hold ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` at ``value`` while a capture opens.

    Waits at most ``wait_s`` for opens with other options to finish, then
    goes ahead anyway (an open must never hang on another one).
    """
    global _options_active, _options_users
    deadline = time.monotonic() + wait_s
    with _options_turn:
        while _options_users and _options_active != value:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _options_turn.wait(left)
        _options_active = value
        _options_users += 1
        os.environ[OPTIONS_VARIABLE] = value
    try:
        yield
    finally:
        with _options_turn:
            _options_users -= 1
            _options_turn.notify_all()


def ffprobe(path: str) -> dict[str, Any] | None:
    """Describe a file's first video stream with ffprobe; None if ffprobe is absent.

    Raises:
        SourceError: ffprobe ran and cannot read the file.
    """
    binary = shutil.which("ffprobe")
    if binary is None:
        return None
    command = [
        binary, "-v", "error", "-print_format", "json", "-show_format",
        "-show_streams", "-select_streams", "v:0", path,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise SourceError(
            f"ffprobe did not finish reading {path} within {PROBE_TIMEOUT_S:.0f} s; "
            "the file may be damaged"
        ) from exc
    if done.returncode != 0:
        reason = _explain(done.stderr.decode(errors="replace"))
        raise SourceError(f"cannot read {path}: {reason}")
    data: dict[str, Any] = json.loads(done.stdout or b"{}")
    if not data.get("streams"):
        raise SourceError(f"cannot read {path}: it has no video stream")
    return data


def _explain(stderr: str) -> str:
    """One sentence from ffprobe's error output."""
    if "moov atom not found" in stderr:
        return (
            "moov atom not found, so the file is truncated or was not finished "
            "(a recording that was cut off); re-copy or re-record it"
        )
    if "Invalid data found" in stderr:
        return "FFmpeg finds no valid media in it; check that it is a video file"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "ffprobe failed without saying why"
    return last.split("] ", 1)[-1]

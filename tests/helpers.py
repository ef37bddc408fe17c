"""Paths and checks shared by the tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "vtest.avi"
#: Real recorded LandingEdge and LandingLens responses (see SOURCE.md there).
LANDINGAI_FIXTURES = ROOT / "tests" / "fixtures" / "landingai"


def require(condition: bool, why: str) -> None:
    """Skip a test whose tool is missing; under ``CI=true`` fail it instead."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} (required under CI)")
    pytest.skip(why)


def require_tool(name: str) -> str:
    """Path of an external program (see ``require``)."""
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (.ci/run installs it)")
    assert path is not None
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_streamer(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``streamer`` command to its end from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "streamer", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )

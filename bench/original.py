"""The original ``landingai`` SDK, installed in a virtual environment of its own.

``landingai`` pins numpy below 2 and brings its own OpenCV, so it never shares
the project's environment. The environment is made once and reused.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT

logger = logging.getLogger(__name__)

VENV = Path(os.environ.get("LANDINGAI_VENV", ROOT / ".venv-landingai"))
SCRIPT = Path(__file__).with_name("landingai_loop.py")
INSTALL_TIMEOUT_S = 600


def venv_python(venv: Path = VENV) -> Path:
    """The environment's interpreter, creating the environment if needed.

    Raises:
        RuntimeError: The environment could not be made or ``landingai`` installed.
    """
    python = venv / "bin" / "python"
    if _imports_landingai(python):
        return python
    logger.info("creating %s with PyPI landingai (once)", venv)
    commands = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "landingai"],
    ]
    for command in commands:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command[:4])} failed: {done.stderr.strip()[-600:]}"
            )
    if not _imports_landingai(python):
        raise RuntimeError(f"landingai does not import in {venv}")
    return python


def _imports_landingai(python: Path) -> bool:
    if not python.is_file():
        return False
    check = [str(python), "-c", "import landingai.predict"]
    return subprocess.run(check, capture_output=True, timeout=60).returncode == 0


def original_fps(
    mode: str, port: int, video: Path, frames: int, max_s: float, workers: int = 1
) -> float:
    """Frames per second of the original SDK over ``video`` (see landingai_loop)."""
    command = [
        str(venv_python()),
        str(SCRIPT),
        mode,
        str(port),
        str(video),
        str(frames),
        str(max_s),
        str(workers),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=max_s + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"landingai {mode} failed: {done.stderr.strip()[-600:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return float(figures["frames"]) / float(figures["elapsed_s"])

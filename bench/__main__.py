"""Run the whole bench: ``python -m bench [--quick] [--no-publish]``.

Writes ``bench/out/report.md``, ``bench/out/results.json`` and the PNG plots,
then copies the report and plots to ``docs/bench/`` (unless ``--quick`` or
``--no-publish``). A full run takes about 12 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench import live, plots, replay, report, stages
from bench.harness import (
    CAMERA_CLIP,
    HD_CLIP,
    OUT,
    ROOT,
    SAMPLE,
    make_camera_clip,
    make_hd_clip,
)
from bench.original import venv_python

logger = logging.getLogger("bench")
DOCS = ROOT / "docs" / "bench"


@dataclass(frozen=True)
class Plan:
    """How much each part measures."""

    sample_frames: int
    hd_frames: int
    cell_s: float
    delays: tuple[int, ...]
    workers: tuple[int, ...]
    stage_frames: int
    lag_s: float
    memory_s: float


FULL = Plan(300, 48, 6.0, (0, 20, 50, 100), (1, 2, 4, 8, 16), 100, 120.0, 300.0)
QUICK = Plan(60, 16, 2.0, (0, 50), (1, 8), 30, 10.0, 20.0)


def main(argv: list[str] | None = None) -> int:
    """Run the bench and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run, ~2 min")
    parser.add_argument("--no-publish", action="store_true", help="skip docs/bench")
    parser.add_argument(
        "--render", action="store_true", help="rewrite the report from results.json"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("streamer").setLevel(logging.WARNING)
    plan = QUICK if args.quick else FULL
    if args.render:
        saved = json.loads((OUT / "results.json").read_text(encoding="utf-8"))
        _write(_load(saved), publish=not args.no_publish)
        return 0

    started, wall = time.monotonic(), time.strftime("%Y-%m-%d %H:%M %Z")
    load_before = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    venv_python()
    make_hd_clip(HD_CLIP)
    make_camera_clip(CAMERA_CLIP)
    logger.info("setup done in %.0f s", time.monotonic() - started)

    clips = [
        replay.Clip("vtest", SAMPLE, plan.sample_frames, plan.cell_s),
        replay.Clip("1080p", HD_CLIP, plan.hd_frames, plan.cell_s),
    ]
    series = replay.run(clips, plan.delays, plan.workers)
    logger.info("replay done at %.0f s", time.monotonic() - started)
    costs = {
        "768x576": stages.measure(SAMPLE, plan.stage_frames, 30.0),
        "1920x1080": stages.measure(HD_CLIP, plan.hd_frames, 30.0),
    }
    logger.info("stages done at %.0f s", time.monotonic() - started)
    watch = live.MemoryWatch(plan.memory_s)
    lag = live.lag(plan.lag_s)
    logger.info(
        "lag done at %.0f s; waiting for the memory run", time.monotonic() - started
    )
    memory = watch.wait()

    notes = _notes(plan)
    run = report.Run(
        wall,
        time.monotonic() - started,
        load_before,
        os.getloadavg(),
        series,
        costs,
        lag,
        memory,
        notes,
    )
    _write(run, publish=not (args.quick or args.no_publish))
    logger.info("bench done in %.1f min", run.duration_s / 60)
    return 0


def _notes(plan: Plan) -> list[str]:
    return [
        f"Replay cells take at most {plan.sample_frames} frames of the sample and "
        f"{plan.hd_frames} of the 1080p clip (the sample scaled up by ffmpeg, "
        f"H.264), and at most {plan.cell_s:g} s each; fps includes the "
        "pipeline's start-up and drain.",
        "The original SDK (PyPI `landingai`) runs in its own environment, "
        "`.venv-landingai`; its loop reads frames with OpenCV and converts them "
        "to RGB, as its examples do, and `FrameSet` runs over chunks of 48 frames.",
        "The live source is an RTSP stream from GStreamer's RTSP server on "
        "127.0.0.1: the sample retimed to 25 fps, repeated for the whole run.",
        f"The memory run ({plan.memory_s / 60:g} min) is a separate process; the "
        f"lag run ({plan.lag_s:g} s) runs beside its first minutes. Both are "
        "25 fps streams and light.",
    ]


def _load(data: dict[str, Any]) -> report.Run:
    series = [
        replay.Series(**{**s, "cells": [replay.Cell(**c) for c in s["cells"]]})
        for s in data["replay"]
    ]
    lag = data["lag"]
    memory = data["memory"]
    return report.Run(
        **{
            **data,
            "load_before": tuple(data["load_before"]),
            "load_after": tuple(data["load_after"]),
            "replay": series,
            "lag": live.Lag(**{**lag, "series": [tuple(x) for x in lag["series"]]}),
            "memory": live.Memory(
                **{**memory, "samples": [tuple(x) for x in memory["samples"]]}
            ),
        }
    )


def _write(run: report.Run, *, publish: bool) -> None:
    names = [
        plots.replay(run.replay, "vtest", OUT / "replay-vtest.png").name,
        plots.replay(run.replay, "1080p", OUT / "replay-1080p.png").name,
        plots.lag(run.lag, OUT / "lag.png").name,
        plots.memory(run.memory, OUT / "rss.png").name,
    ]
    (OUT / "report.md").write_text(report.render(run, names), encoding="utf-8")
    (OUT / "results.json").write_text(
        json.dumps(dataclasses.asdict(run), indent=1), encoding="utf-8"
    )
    logger.info("wrote %s", OUT / "report.md")
    if publish:
        DOCS.mkdir(parents=True, exist_ok=True)
        for name in ["report.md", *names]:
            shutil.copy2(OUT / name, DOCS / name)
        logger.info("copied the report and plots to %s", DOCS)


if __name__ == "__main__":
    sys.exit(main())

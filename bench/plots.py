"""PNG plots of a bench run (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.live import Lag, Memory
from bench.replay import Series


def replay(series: Sequence[Series], clip: str, path: Path) -> Path:
    """Frames per second against workers, one panel a delay, with the ceiling."""
    mine = [s for s in series if s.clip == clip]
    fig, axes = plt.subplots(1, len(mine), figsize=(4.2 * len(mine), 4), sharey=True)
    for ax, one in zip(list(axes) if len(mine) > 1 else [axes], mine, strict=True):
        workers = [c.workers for c in one.cells]
        ceiling = [min(one.decode_fps, c.capacity) for c in one.cells]
        ax.plot(workers, ceiling, "k--", label="ceiling")
        ax.plot(workers, [c.fps for c in one.cells], "o-", label="streamer")
        ax.plot(
            workers, [c.fps_sinks for c in one.cells], "s-", label="streamer + sinks"
        )
        ax.plot(
            workers,
            [c.frameset_fps for c in one.cells],
            "^-",
            label="landingai FrameSet",
        )
        ax.axhline(one.plain_loop_fps, color="grey", lw=1, label="landingai loop")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(workers, [str(w) for w in workers])
        ax.set_title(f"{clip}, server delay {one.delay_ms} ms")
        ax.set_xlabel("workers")
        ax.grid(True, which="both", alpha=0.3)
    first = axes[0] if len(mine) > 1 else axes
    first.set_ylabel("frames per second")
    first.legend(fontsize=8)
    return _save(fig, path)


def lag(result: Lag, path: Path) -> Path:
    """Frame age at the sinks over the live run."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot([t for t, _ in result.series], [1000 * a for _, a in result.series], lw=0.7)
    ax.axhline(result.delay_ms, color="grey", ls="--", label="predictor delay")
    ax.axhline(result.p95_ms, color="red", ls=":", label="p95")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("frame age at the sinks (ms)")
    ax.set_title(f"25 fps live source, {result.delay_ms} ms predictor")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def memory(result: Memory, path: Path) -> Path:
    """Resident size of the pipeline process over the long run, with the fit."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    times = [t / 60 for t, _ in result.samples]
    values = [v for _, v in result.samples]
    ax.plot(times, values, lw=0.8, label="RSS")
    late = [t for t in times if t >= 1.0]
    if late:
        slope, intercept = result.late_slope_mb_min, result.late_intercept_mb
        fit = [intercept + slope * t for t in late]
        ax.plot(late, fit, "r--", label=f"fit after 1 min: {slope:+.2f} MB/min")
    ax.set_xlabel("minutes")
    ax.set_ylabel("resident size (MB)")
    ax.set_title("pipeline process, looping live replay")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path

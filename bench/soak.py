"""A soak run: ``python -m bench.soak [--minutes 10]`` (``make soak``).

Streams a looping RTSP camera (GStreamer's RTSP server on 127.0.0.1, the
sample at 25 fps) through the pipeline for the given time, with a 20 ms null
server and the video and JSONL sinks, in a separate process whose resident size
is sampled every second. Writes the slope of that size to ``docs/bench/soak.md``.
Not a test: it takes as long as it is asked to.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.harness import OUT, ROOT
from bench.live import WARM_UP_S, Memory, sample_memory, start_memory_run

REPORT = ROOT / "docs" / "bench" / "soak.md"


def main(argv: list[str] | None = None) -> int:
    """Run the soak and write its report."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 24 * 60:
        parser.error("--minutes must be more than 0 and at most a day")

    OUT.mkdir(parents=True, exist_ok=True)
    seconds = args.minutes * 60
    started = time.monotonic()
    memory = sample_memory(start_memory_run(seconds), seconds)
    took = time.monotonic() - started
    log = (OUT / "memory.log").read_text(errors="replace").strip().splitlines()
    summary = log[-1] if log else "(no summary line)"
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(render(memory, took, summary))
    print(REPORT.read_text())
    return 0 if memory.exit_code == 0 else 1


def render(memory: Memory, took: float, summary: str) -> str:
    """The soak's report in Markdown."""
    samples = memory.samples
    late = [rss for t, rss in samples if t >= WARM_UP_S] or [0.0]
    base = late[0] or 1.0
    day_gb = memory.late_slope_mb_min * 60 * 24 / 1024
    return "\n".join(
        [
            "# Soak: a looping RTSP camera, resident size over time",
            "",
            f"- run: {took / 60:.1f} minutes, exit code {memory.exit_code}",
            f"- pipeline: `{summary}`",
            f"- resident size: {base:.0f} MB at one minute, {late[-1]:.0f} MB at "
            f"the end, peak {max(rss for _, rss in samples):.0f} MB",
            f"- slope after the first minute (least squares): "
            f"**{memory.late_slope_mb_min:+.3f} MB/min** "
            f"({memory.late_slope_mb_min / base * 100:+.3f}% of the one-minute size "
            f"a minute; {day_gb:+.2f} GB a day if it went on linearly)",
            f"- slope over the whole run: {memory.slope_mb_min:+.3f} MB/min",
            "",
            "The camera is GStreamer's RTSP server on 127.0.0.1 serving the sample "
            "at 25 fps; the predictor is `streamer serve --model null` answering "
            "after 20 ms; 4 workers, `drop_oldest`, video and JSONL sinks.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

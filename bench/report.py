"""The Markdown report of a bench run: every figure beside its baseline."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from bench.live import Lag, Memory
from bench.replay import Cell, Series
from bench.stages import ALTERNATIVES, STAGES

#: The acceptance cell: a 50 ms server and 8 workers on the sample.
ACCEPT_CLIP, ACCEPT_DELAY, ACCEPT_WORKERS = "vtest", 50, 8
CEILING_SHARE, OVER_LOOP = 0.9, 5.0
CORES = os.cpu_count() or 1


@dataclass
class Run:
    """Everything one bench run measured."""

    started: str
    duration_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    replay: list[Series]
    stages: dict[str, dict[str, float]]
    lag: Lag
    memory: Memory
    notes: list[str]


def render(run: Run, plots: Sequence[str]) -> str:
    """The whole report."""
    parts = [
        _header(run),
        _acceptance(run.replay),
        *(_replay_table(run.replay, clip) for clip in _clips(run.replay)),
        _stages(run.stages),
        _lag(run.lag),
        _memory(run.memory),
        "## Plots\n\n" + "\n".join(f"![{p}]({p})" for p in plots),
    ]
    if run.notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {n}" for n in run.notes))
    return "\n\n".join(parts) + "\n"


def _header(run: Run) -> str:
    load = ", ".join(f"{x:.1f}" for x in run.load_before)
    after = ", ".join(f"{x:.1f}" for x in run.load_after)
    return (
        "# streamer bench\n\n"
        f"Run {run.started}, {run.duration_s / 60:.1f} minutes on this machine "
        f"(2 cores; load average {load} at the start, {after} at the end: other "
        "work shares the machine, so every figure is given as a ratio to a "
        "baseline measured in the same run)."
    )


def _clips(series: Sequence[Series]) -> list[str]:
    return list(dict.fromkeys(s.clip for s in series))


def find(series: Sequence[Series], clip: str, delay: int) -> Series | None:
    """The series of ``clip`` at ``delay``, if measured."""
    return next((s for s in series if s.clip == clip and s.delay_ms == delay), None)


def acceptance(series: Sequence[Series]) -> tuple[Series, Cell] | None:
    """The acceptance cell and its series, if measured."""
    one = find(series, ACCEPT_CLIP, ACCEPT_DELAY)
    if one is None:
        return None
    cell = next((c for c in one.cells if c.workers == ACCEPT_WORKERS), None)
    return (one, cell) if cell else None


def _acceptance(series: Sequence[Series]) -> str:
    found = acceptance(series)
    if found is None:
        return "## Acceptance\n\nThe acceptance cell was not measured."
    one, cell = found
    ceiling = min(one.decode_fps, cell.capacity)
    share, over = cell.fps / ceiling, cell.fps / one.plain_loop_fps
    lines = [
        "## Acceptance",
        "",
        f"Sample replay, {ACCEPT_DELAY} ms server, {ACCEPT_WORKERS} workers, no sinks:",
        "",
        f"- {cell.fps:.1f} fps = **{share:.2f}** of the ceiling {ceiling:.0f} fps "
        f"(min of decode-only {one.decode_fps:.0f} fps and capacity "
        f"{cell.capacity:.0f} fps): "
        + ("met" if share >= CEILING_SHARE else f"**below {CEILING_SHARE:.0%}**"),
        f"- **{over:.1f}x** the original SDK's plain loop ({one.plain_loop_fps:.1f} "
        "fps): " + ("met" if over >= OVER_LOOP else f"**below {OVER_LOOP:g}x**"),
        f"- {cell.fps / cell.frameset_fps:.2f}x the original `FrameSet.run_predict`"
        f" with {ACCEPT_WORKERS} workers ({cell.frameset_fps:.1f} fps); with the "
        f"video and JSONL sinks {cell.fps_sinks:.1f} fps "
        f"({cell.fps_sinks / ceiling:.2f} of the ceiling)",
        f"- steady state (first to last delivered frame, without the start-up "
        f"and the drain): {cell.steady_fps:.1f} fps = "
        f"{cell.steady_fps / ceiling:.2f} of the ceiling",
        f"- {ACCEPT_WORKERS} bare clients (no pipeline: one pre-encoded JPEG, "
        f"posted in a loop) reach {one.raw_clients_8:.1f} fps against the same "
        f"server: {one.raw_clients_8 / ceiling:.2f} of the nominal capacity; the "
        f"pipeline reaches {cell.fps / max(one.raw_clients_8, 1e-9):.2f} of that.",
    ]
    if share < CEILING_SHARE:
        lines += ["", _holdback(cell, one)]
    hd = find(series, "1080p", ACCEPT_DELAY)
    hd_cell = (
        next((c for c in hd.cells if c.workers == ACCEPT_WORKERS), None) if hd else None
    )
    if hd and hd_cell:
        hd_ceiling = min(hd.decode_fps, hd_cell.capacity)
        lines += [
            "",
            f"The same at 1080p: {hd_cell.fps:.1f} fps = "
            f"{hd_cell.fps / hd_ceiling:.2f} of the ceiling {hd_ceiling:.0f} fps, "
            f"{hd_cell.fps / hd.plain_loop_fps:.1f}x the plain loop, "
            f"{hd_cell.fps / hd_cell.frameset_fps:.2f}x `FrameSet`; with sinks "
            f"{hd_cell.fps_sinks:.1f} fps. " + _holdback(hd_cell, hd),
        ]
    return "\n".join(lines)


def _holdback(cell: Cell, one: Series) -> str:
    """Name the stage that limits a cell, from the run's own stage timings."""
    stages = cell.stages_ms
    delay = one.delay_ms
    request = stages.get("request_s", 0.0)
    encode = stages.get("encode_s", 0.0)
    queue = stages.get("queue_s", 0.0)
    cycle = stages.get("predict_s", 0.0) or 1e-9
    bound = cell.workers * 1000 / cycle
    text = (
        f"Stage timings (mean per frame): each worker spends {cycle:.1f} ms a "
        f"frame in `predict` against the {delay} ms the server waits: "
        f"{request:.1f} ms in the request ({request - delay:+.1f} ms over the "
        f"delay: HTTP on both sides, the server's scheduling, CPU contention) and "
        f"{encode:.1f} ms encoding the JPEG; {cell.workers} workers can do at most "
        f"{bound:.0f} fps at that pace and did {cell.fps / bound:.2f} of it. "
    )
    if queue > cycle / 2:
        part = "request round trip" if request - delay >= encode else "JPEG encoding"
        return text + (
            f"Frames wait {queue:.1f} ms in the queue, so the source keeps ahead "
            f"of the workers: the workers' cycle, mostly the {part}, is the limit."
        )
    return text + (
        f"Frames wait only {queue:.1f} ms in the queue, so the workers wait for "
        "frames: the source thread is the limit; it decodes while the workers "
        f"encode JPEGs on the same {CORES} cores (see the stage costs below)."
    )


def _replay_table(series: Sequence[Series], clip: str) -> str:
    rows = [
        f"## Replay throughput: {clip}",
        "",
        "fps, and in brackets the ratio to the ceiling (min of decode-only and "
        "server capacity; capacity is workers / delay, or at delay 0 the server's "
        "measured rate with as many bare parallel clients). `sinks` adds the video "
        "and JSONL sinks. `loop` is the original `EdgePredictor` in a plain loop, "
        "`FrameSet` the original `FrameSet.run_predict(num_workers=N)`.",
        "",
        "| delay ms | workers | decode-only | capacity | streamer | streamer + sinks "
        "| FrameSet | loop | streamer / loop | streamer / FrameSet |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for one in (s for s in series if s.clip == clip):
        for cell in one.cells:
            ceiling = min(one.decode_fps, cell.capacity)
            rows.append(
                f"| {one.delay_ms} | {cell.workers} | {one.decode_fps:.0f} "
                f"| {cell.capacity:.0f} | {cell.fps:.1f} ({cell.fps / ceiling:.2f}) "
                f"| {cell.fps_sinks:.1f} ({cell.fps_sinks / ceiling:.2f}) "
                f"| {cell.frameset_fps:.1f} ({cell.frameset_fps / ceiling:.2f}) "
                f"| {one.plain_loop_fps:.1f} "
                f"| {cell.fps / one.plain_loop_fps:.1f}x "
                f"| {cell.fps / cell.frameset_fps:.2f}x |"
            )
    return "\n".join(rows)


def _stages(stages: dict[str, dict[str, float]]) -> str:
    clips = list(stages)
    rows = [
        "## Client cost per frame, by stage",
        "",
        "Milliseconds a frame on one thread, and in brackets the ratio to decoding "
        "the same frame. `request` is against a null server answering at once; "
        "`draw` puts five boxes and the status line on the frame; `write` is the "
        "H.264 video sink (libx264 `veryfast`, its final flush shared out). "
        "`encode_png` is the cost of `image_format: PNG` instead of JPEG, not "
        "part of the total.",
        "",
        "| stage | " + " | ".join(clips) + " |",
        "|---|" + "---:|" * len(clips),
    ]
    for stage in (*STAGES, *ALTERNATIVES):
        cells = []
        for clip in clips:
            if stage not in stages[clip]:
                continue
            value, base = stages[clip][stage], stages[clip]["decode"]
            cells.append(f"{value:.2f} ({value / base:.2f})")
        rows.append(f"| {stage} | " + " | ".join(cells) + " |")
    totals = [sum(stages[c][name] for name in STAGES) for c in clips]
    rows.append("| total | " + " | ".join(f"{t:.2f}" for t in totals) + " |")
    rows += ["", *_implied(stages), ""]
    return "\n".join(rows)


def _implied(stages: dict[str, dict[str, float]]) -> list[str]:
    """The rates these costs allow each thread, and both cores together."""
    lines = ["What these costs allow, at most (frames a second):", ""]
    for clip, cost in stages.items():
        client = cost["decode"] + cost["encode"] + cost["request"] + cost["parse"]
        consumer = cost["draw"] + cost["write"]
        lines.append(
            f"- {clip}: the source thread {1000 / cost['decode']:.0f} (decode); "
            f"the consumer thread with the video sink {1000 / consumer:.0f} "
            f"(draw + write); the client's CPU work on {CORES} cores "
            f"{CORES * 1000 / client:.0f} without sinks and "
            f"{CORES * 1000 / (client + consumer):.0f} with them (the server's "
            "own work and other programs come on top)"
        )
    return lines


def _lag(result: Lag) -> str:
    delay = result.delay_ms
    return "\n".join(
        [
            "## Live lag",
            "",
            f"A 25 fps live source for {result.seconds:.0f} s through a {delay} ms "
            f"predictor, {result.workers} workers, `drop_oldest`, queue of 2. Frame "
            "age is the time from reading a frame to handing it to the sinks; the "
            "ratio is to the predictor delay.",
            "",
            "| p50 | p95 | max | delivered | dropped |",
            "|---:|---:|---:|---:|---:|",
            f"| {result.p50_ms:.0f} ms ({result.p50_ms / delay:.2f}) "
            f"| {result.p95_ms:.0f} ms ({result.p95_ms / delay:.2f}) "
            f"| {result.max_ms:.0f} ms ({result.max_ms / delay:.2f}) "
            f"| {result.delivered} | {result.dropped} |",
        ]
    )


def _memory(result: Memory) -> str:
    values = [v for _, v in result.samples]
    settled = [v for t, v in result.samples if t >= 60.0]
    if not settled:
        return "## Memory\n\nToo few samples were taken."
    base, last, peak = settled[0], values[-1], max(values)
    slope = result.late_slope_mb_min
    return "\n".join(
        [
            "## Memory",
            "",
            f"Resident size of the pipeline process, sampled every second over a "
            f"{result.seconds / 60:.1f}-minute looping live replay (25 fps, 4 "
            "workers, 20 ms server, video and JSONL sinks). The first minute is "
            "start-up (imports, codec and queue buffers) and is left out of the fit; "
            "the baseline is the size at one minute.",
            "",
            f"- {base:.0f} MB at one minute, {last:.0f} MB at the end "
            f"({last / base:.3f}x), peak {peak:.0f} MB",
            f"- slope (least squares, after the first minute) **{slope:+.2f} "
            f"MB/min**, {slope / base * 100:+.2f}% of the baseline a minute "
            f"(+{slope * 1440 / 1024:.2f} GB a day if it kept on linearly; a few "
            "minutes cannot tell allocator settling from a leak)",
        ]
    )

"""A long live run for the memory measurement: ``python -m bench.memrun SECONDS``.

The live camera of ``bench.live`` (an RTSP stream at 25 fps), through a null
server answering after 20 ms, into the video and JSONL sinks, with the
``drop_oldest`` policy: what a camera run does, for as long as asked.
"""

from __future__ import annotations

import sys

from bench.harness import OUT, pipeline_config, run_pipeline
from bench.live import live_camera
from streamer.server import EmbeddedServer


def main(argv: list[str]) -> int:
    """Run for ``argv[0]`` seconds; print the closing summary line."""
    seconds = float(argv[0]) if argv else 300.0
    sinks = [
        {"kind": "video", "path": str(OUT / "memory" / "run.mp4")},
        {"kind": "jsonl", "path": str(OUT / "memory" / "run.jsonl")},
    ]
    with EmbeddedServer("null", delay_ms=20) as server:
        yaml_text = pipeline_config(
            server.port, workers=4, sinks=sinks, policy="drop_oldest", queue_size=4
        )
        with live_camera(seconds) as source:
            summary = run_pipeline(yaml_text, source)
    print(summary.line(), flush=True)
    return 0 if summary.reconciled else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

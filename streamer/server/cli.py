"""Command-line interface of the embedded server (``python -m streamer.server``).

The project's ``streamer serve`` command reuses :func:`build_arg_parser` and
:func:`main_from_args`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from streamer.exceptions import ServerStartError
from streamer.server.models import MODELS
from streamer.server.server import serve

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def build_arg_parser(parser: argparse.ArgumentParser) -> None:
    """Add the server's arguments to ``parser``."""
    parser.add_argument(
        "--model", choices=MODELS, default="people", help="model to serve"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="TCP port; 0 picks a free one"
    )
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=0.0,
        help="answer delay of the null model, in milliseconds",
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="drop detections scoring below this (people, faces)",
    )
    parser.add_argument(
        "--upscale-below",
        type=int,
        default=None,
        help="people: upscale frames lower than this many pixels (default 480)",
    )
    parser.add_argument(
        "--log-level", choices=_LOG_LEVELS, default="warning", help="log level"
    )
    parser.add_argument(
        "--exit-with-parent",
        type=int,
        default=None,
        metavar="PID",
        help="stop when process PID is gone (used by the embedded server)",
    )


def main_from_args(args: argparse.Namespace) -> int:
    """Run the server from parsed arguments; return the exit code."""
    try:
        serve(
            args.model,
            args.host,
            args.port,
            delay_ms=args.delay_ms,
            log_level=args.log_level,
            min_score=args.min_score,
            upscale_below=args.upscale_below,
            parent_pid=args.exit_with_parent,
        )
    except ServerStartError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, set up logging and run the server."""
    parser = argparse.ArgumentParser(
        prog="python -m streamer.server",
        description="Serve an OpenCV model over the LandingEdge HTTP contract.",
    )
    build_arg_parser(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return main_from_args(args)

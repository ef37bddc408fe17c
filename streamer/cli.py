"""The ``streamer`` command: ``run``, ``serve`` and ``probe``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from streamer import __version__
from streamer.exceptions import StreamerError

logger = logging.getLogger("streamer.cli")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamer`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    try:
        code: int = args.handler(args)
        return code
    except StreamerError as exc:
        logger.error("%s", exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamer", description="Camera and video streaming inference pipeline."
    )
    parser.add_argument(
        "--version", action="version", version=f"streamer {__version__}"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more logging (-vv for debug)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a pipeline from a YAML config")
    run.add_argument("config", help="path to the YAML config")
    run.add_argument("--workers", type=int, help="override pipeline.workers")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.set_defaults(handler=_run)

    serve = commands.add_parser(
        "serve", help="serve a local model over the LandingEdge HTTP contract"
    )
    from streamer.server import build_arg_parser

    build_arg_parser(serve)
    serve.set_defaults(handler=_serve)

    probe = commands.add_parser("probe", help="describe a source, or say why it fails")
    probe.add_argument("source", help="file, folder, glob, stream URL or webcam")
    probe.add_argument(
        "--seconds", type=float, default=3.0, help="how long to read a live source"
    )
    probe.set_defaults(handler=_probe)
    return parser


def _configure_logging(verbosity: int, quiet: bool) -> None:
    """Lifecycle (INFO) from streamer itself; other libraries from WARNING.

    ``-v`` adds other libraries' INFO, ``-vv`` everything at DEBUG.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbosity >= 2 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if verbosity == 1:
        logging.getLogger().setLevel(logging.INFO)
    own = (
        logging.WARNING if quiet else logging.DEBUG if verbosity >= 2 else logging.INFO
    )
    logging.getLogger("streamer").setLevel(own)


def _run(args: argparse.Namespace) -> int:
    from streamer.config import load_config, with_pipeline_overrides
    from streamer.pipeline import Outcome, Pipeline

    config = load_config(args.config)
    overrides: dict[str, object] = {}
    if args.workers is not None:
        overrides["workers"] = args.workers
    if args.no_progress:
        overrides["progress"] = False
    if overrides:
        config = with_pipeline_overrides(config, overrides)
    pipeline = Pipeline(config)
    try:
        summary = pipeline.run()
    except StreamerError as exc:
        if not pipeline.stop_event.is_set():
            raise
        logger.warning("%s", exc)
        return EXIT_INTERRUPTED
    print(summary.line(), file=sys.stderr)
    if summary.outcome in (Outcome.SOURCE_FAILED, Outcome.FAILED):
        return EXIT_ERROR
    if summary.ok == 0 and summary.failed > 0:
        reason, _ = summary.reasons.most_common(1)[0]
        logger.error("every frame failed; the most common reason: %s", reason)
        return EXIT_ERROR
    if summary.outcome in (Outcome.INTERRUPTED, Outcome.ABORTED):
        return EXIT_INTERRUPTED
    return EXIT_OK


def _probe(args: argparse.Namespace) -> int:
    from streamer.config import SourceConfig
    from streamer.probe import probe

    url: str | int = int(args.source) if args.source.isdigit() else args.source
    report = probe(SourceConfig(url=url), live_seconds=args.seconds)
    sys.stdout.write("\n".join(report.lines()) + "\n")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from streamer.server import main_from_args

    return main_from_args(args)


if __name__ == "__main__":
    sys.exit(main())

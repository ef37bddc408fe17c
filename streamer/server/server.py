"""Run the embedded inference server in this process with uvicorn."""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

import uvicorn

from streamer.exceptions import ServerStartError
from streamer.server.app import create_app
from streamer.server.models import build_model

logger = logging.getLogger(__name__)

# Idle keep-alive connections are closed after this long. uvicorn's 5 s would
# make slow cameras race the close with their next request, and edge clients
# do not retry.
KEEP_ALIVE_S = 75
#: How often a server started for a run checks that the run is still there.
PARENT_POLL_S = 0.5


def serve(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    delay_ms: float = 0.0,
    log_level: str = "warning",
    parent_pid: int | None = None,
    **model_options: Any,
) -> None:
    """Serve ``model`` on ``host:port`` until interrupted; blocks.

    Args:
        model: A name from :data:`streamer.server.MODELS`.
        host: Address to bind; loopback by default.
        port: TCP port; 0 picks a free one.
        delay_ms: Answer delay of the ``null`` model.
        log_level: uvicorn's log level.
        parent_pid: Stop when this process is gone, so that a server started
            for a run does not outlive it even if the run is killed.
        **model_options: Keyword options of the model, e.g. ``min_score``.

    Raises:
        ServerStartError: The model cannot be built or the port cannot be bound.
    """
    if delay_ms:
        model_options["delay_ms"] = delay_ms
    try:
        app = create_app(build_model(model, **model_options))
    except (ValueError, RuntimeError) as exc:
        raise ServerStartError(str(exc)) from exc

    sock = bind_socket(host, port)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    logger.info("Serving model %s on http://%s:%d", model, host, sock.getsockname()[1])
    if parent_pid is not None:
        _exit_with_parent(parent_pid)
    uvicorn.Server(config).run(sockets=[sock])


def _exit_with_parent(parent_pid: int) -> None:
    """Send ourselves SIGTERM (a clean uvicorn shutdown) once the parent is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        logger.warning("parent process %d is gone; stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port``, explaining the usual failures.

    Raises:
        ServerStartError: The port is taken or the address is not local.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # asyncio turns Nagle off only on sockets whose protocol is IPPROTO_TCP, and
    # uvicorn writes a response's head and body separately: with Nagle on, every
    # keep-alive request waits ~40 ms for the client's delayed ACK. Accepted
    # sockets inherit TCP_NODELAY from the listening one on Linux.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServerStartError(_bind_message(host, port, exc)) from exc
    return sock


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use; stop the program using it "
            "or choose another port with --port (0 picks a free one)."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"Address {host} is not an address of this machine; use 127.0.0.1."
    return f"Cannot listen on {host}:{port}: {exc.strerror}."

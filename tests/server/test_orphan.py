"""A server started for a run does not outlive a run that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.helpers import ROOT


def test_embedded_server_stops_when_its_run_is_killed() -> None:
    script = (
        "import time\n"
        "from streamer.server import EmbeddedServer\n"
        "server = EmbeddedServer('null').start()\n"
        "print(server._process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None
    server_pid = int(run.stdout.readline())
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    run.stdout.close()

    deadline = time.monotonic() + 10
    while _alive(server_pid):
        assert time.monotonic() < deadline, "the server outlived its killed run"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"

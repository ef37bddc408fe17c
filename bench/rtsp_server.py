"""An RTSP camera on 127.0.0.1, for Debian's ``/usr/bin/python3``.

Usage: ``/usr/bin/python3 bench/rtsp_server.py CLIP PORT SECONDS``: serves the
H.264 MP4 clip CLIP at ``rtsp://127.0.0.1:PORT/vtest`` at its own frame
rate (make it as long as the run) and exits after SECONDS. GStreamer's Python
bindings load only in Debian's own interpreter, hence a separate script.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main(argv: list[str]) -> int:
    """Serve until the time is up."""
    clip, port, seconds = argv[0], argv[1], float(argv[2])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{clip}" ! qtdemux ! h264parse '
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/vtest", factory)
    server.attach(None)
    loop = GLib.MainLoop()
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

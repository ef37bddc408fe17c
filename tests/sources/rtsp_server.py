"""A test RTSP server on 127.0.0.1 built on Debian's GStreamer RTSP server.

Run it with Debian's own ``/usr/bin/python3`` (the GStreamer bindings load only
there)::

    /usr/bin/python3 rtsp_server.py --port 8554 --file samples/vtest.avi

Every client gets its own session that decodes the file from the start,
re-encodes it to H.264 and sends it at the file's pace, looping at the end. The
script prints ``READY <url>`` once it listens and runs until it is killed.
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

_PIPELINE = (
    "( multifilesrc location={path} loop=true ! decodebin ! videoconvert "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--mount", default="/stream")
    parser.add_argument("--gop", type=int, default=10)
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(_PIPELINE.format(path=args.file, gop=args.gop))
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        sys.stderr.write(f"cannot listen on 127.0.0.1:{args.port}\n")
        return 2
    sys.stdout.write(f"READY rtsp://127.0.0.1:{args.port}{args.mount}\n")
    sys.stdout.flush()
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

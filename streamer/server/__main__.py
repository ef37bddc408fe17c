"""``python -m streamer.server``: run the embedded inference server."""

import sys

from streamer.server.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The embedded default: a local server speaking the LandingEdge HTTP contract.

``POST /images`` with a multipart ``file`` part (and an optional ``metadata``
JSON part) answers exactly as LandingEdge does, backed by models that OpenCV
ships in its wheel: ``people`` (HOG), ``faces`` (Haar cascade), ``motion``
(MOG2 background subtraction, as RLE segmentation) and ``null`` (nothing,
after a delay). See ``docs/server.md``.
"""

from streamer.server.app import create_app
from streamer.server.cli import build_arg_parser, main_from_args
from streamer.server.embedded import EmbeddedServer, ServerState
from streamer.server.models import MODELS, Model, build_model
from streamer.server.rle import decode_rle, encode_rle
from streamer.server.server import serve

__all__ = [
    "MODELS",
    "EmbeddedServer",
    "Model",
    "ServerState",
    "build_arg_parser",
    "build_model",
    "create_app",
    "decode_rle",
    "encode_rle",
    "main_from_args",
    "serve",
]

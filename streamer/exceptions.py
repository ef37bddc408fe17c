"""Every error streamer raises on purpose.

The hierarchy::

    StreamerError
    ├── ConfigError                 a config file or value is invalid
    ├── SourceError                 a frame source cannot be opened or read
    ├── SinkError                   an output cannot be written
    ├── ServerStartError            the embedded inference server did not come up
    └── PredictError                an inference request failed
        ├── InvalidApiKeyError      no API key, or one of the wrong form
        ├── PredictConnectionError  the server could not be reached (also a
        │                           builtin ConnectionError, as in landingai)
        ├── PredictTimeoutError     connect or read timed out
        ├── ResponseFormatError     a 2xx reply that is not the expected JSON
        ├── ShutdownRequested       retries stopped because the pipeline is stopping
        └── HttpError               the server answered with a non-2xx status
            ├── UnexpectedRedirectError   3xx
            ├── ClientError               other 4xx
            │   ├── UnauthorizedError     401
            │   ├── PermissionDeniedError 403
            │   ├── BadRequestError       404, 422
            │   └── RateLimitExceededError 429
            ├── InternalServerError       other 5xx
            └── ServiceUnavailableError   502, 503, 504

Error messages are one sentence naming the bad value and what to do. They never
contain an API key or a password from a URL.
"""

from __future__ import annotations


class StreamerError(Exception):
    """Base class of every error streamer raises on purpose."""


class ConfigError(StreamerError):
    """A configuration file or value is invalid."""


class SourceError(StreamerError):
    """A frame source cannot be opened or read."""


class SinkError(StreamerError):
    """An output cannot be opened or written."""


class ServerStartError(StreamerError):
    """The embedded inference server did not start."""


class PredictError(StreamerError):
    """An inference request failed."""

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


class InvalidApiKeyError(PredictError):
    """No API key was found, or the key does not have the expected form."""


class PredictConnectionError(PredictError, ConnectionError):
    """The inference server could not be reached.

    Also a builtin `ConnectionError`, so code written for `landingai` that catches
    `ConnectionError` keeps working.
    """


class PredictTimeoutError(PredictError, TimeoutError):
    """Connecting to, or reading from, the inference server timed out.

    Attributes:
        phase: `"connect"` or `"read"`.
    """

    def __init__(self, message: str, *, phase: str = "read") -> None:
        super().__init__(message)
        self.phase = phase


class ResponseFormatError(PredictError):
    """The server answered 2xx with a body that is not the expected JSON."""


class ShutdownRequested(PredictError):
    """Retries stopped because the caller's stop event was set."""


class HttpError(PredictError):
    """The server answered with a non-2xx status.

    Attributes:
        status_code: The HTTP status of the reply.
        detail: The server's own message, from the JSON body or the text; never
            contains the API key.
        url: The request URL with secrets redacted.
    """

    def __init__(
        self, message: str, *, status_code: int, detail: str = "", url: str = ""
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
        self.url = url


class UnexpectedRedirectError(HttpError):
    """The server answered with a 3xx redirect."""


class ClientError(HttpError):
    """The server rejected the request with a 4xx status."""


class UnauthorizedError(ClientError):
    """HTTP 401: the API key is missing or wrong."""


class PermissionDeniedError(ClientError):
    """HTTP 403: the key may not use this endpoint, or the quota is used up."""


class BadRequestError(ClientError):
    """HTTP 404 or 422: the endpoint or the request parameters are wrong."""


class RateLimitExceededError(ClientError):
    """HTTP 429: too many requests.

    Attributes:
        retry_after: Seconds the server asked to wait, or None if it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        detail: str = "",
        url: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, detail=detail, url=url)
        self.retry_after = retry_after


class InternalServerError(HttpError):
    """A 5xx status other than 502, 503 and 504."""


class ServiceUnavailableError(HttpError):
    """HTTP 502, 503 or 504: the service or a proxy in front of it is down."""

"""One HTTP attempt: sessions, transport-error mapping and status mapping.

This is the only module that talks to `requests`; every failure leaves it as a
`streamer.exceptions.PredictError` subclass raised `from` the original error.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from streamer.exceptions import (
    BadRequestError,
    ClientError,
    HttpError,
    InternalServerError,
    PermissionDeniedError,
    PredictConnectionError,
    PredictError,
    PredictTimeoutError,
    RateLimitExceededError,
    ResponseFormatError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnexpectedRedirectError,
)
from streamer.redact import redact_text, redact_url

__all__ = [
    "DEFAULT_TIMEOUT",
    "Attempt",
    "Reply",
    "error_for_status",
    "new_session",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 30.0)
"""Default `(connect, read)` timeout in seconds for every request."""

POOL_MAXSIZE = 16
"""Connections kept per host; above the thread count a session should ever see."""

_DETAIL_LIMIT = 500

_STATUS_MESSAGES: dict[int, tuple[type[HttpError], str]] = {
    401: (UnauthorizedError, "Unauthorized; check that the API key is correct"),
    403: (
        PermissionDeniedError,
        "Permission denied; check the account's credits, contract and access to "
        "this endpoint",
    ),
    404: (
        BadRequestError,
        "Endpoint does not exist; check the URL path and the endpoint ID",
    ),
    422: (BadRequestError, "Bad request; check that the endpoint ID is correct"),
    429: (
        RateLimitExceededError,
        "Rate limit exceeded; too many requests per minute, wait and try again",
    ),
}
_UNAVAILABLE = frozenset({502, 503, 504})


def new_session(headers: Mapping[str, str]) -> requests.Session:
    """Build a session with no urllib3 retries and a pool sized for threads."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=POOL_MAXSIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(headers)
    return session


def parse_retry_after(value: str | None) -> float | None:
    """Read a `Retry-After` header given in seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(response: requests.Response) -> str:
    """Extract the server's own message from a JSON or text body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:_DETAIL_LIMIT]
    if isinstance(body, dict):
        for key in ("detail", "message", "error", "errorCode"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
    return json.dumps(body)[:_DETAIL_LIMIT]


def error_for_status(
    status: int, detail: str, url: str, retry_after: float | None = None
) -> HttpError:
    """Build the exception for a non-2xx status (PROTOCOL.md §2.5 mapping)."""
    cls: type[HttpError]
    if status in _STATUS_MESSAGES:
        cls, text = _STATUS_MESSAGES[status]
    elif status in _UNAVAILABLE:
        cls, text = ServiceUnavailableError, "Service temporarily unavailable"
    elif 300 <= status < 400:
        cls, text = UnexpectedRedirectError, "Unexpected redirect"
    elif 400 <= status < 500:
        cls, text = ClientError, "Client error; check the configuration and request"
    else:
        cls, text = InternalServerError, "The server hit an unexpected condition"
    said = f"; server said: {detail}" if detail else ""
    message = f"{text} (HTTP {status} from {url}){said}"
    if cls is RateLimitExceededError:
        return RateLimitExceededError(
            message, status_code=status, detail=detail, url=url, retry_after=retry_after
        )
    return cls(message, status_code=status, detail=detail, url=url)


@dataclass(frozen=True)
class Reply:
    """A successful reply: its status and decoded JSON body."""

    status_code: int
    body: Any


@dataclass(frozen=True)
class Attempt:
    """Everything needed to send one multipart POST."""

    url: str
    files: Mapping[str, tuple[str, bytes]]
    data: Mapping[str, str]
    params: Mapping[str, str]
    timeout: tuple[float, float]
    secrets: Iterable[str]

    @property
    def safe_url(self) -> str:
        """The URL with secrets removed, for logs and messages."""
        return redact_text(redact_url(self.url), self.secrets)

    def send(self, session: requests.Session) -> Reply:
        """Send the request once and return the decoded reply.

        Raises:
            PredictError: A subclass for each transport, status or format failure.
        """
        try:
            response = session.post(
                self.url,
                params=dict(self.params),
                data=dict(self.data),
                files=dict(self.files),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise self._transport_error(exc) from exc
        with response:
            return self._reply(response)

    def _transport_error(self, exc: requests.RequestException) -> PredictError:
        """Map a requests exception to the project's own error."""
        url = self.safe_url
        cause = redact_text(str(exc), self.secrets)
        if isinstance(exc, requests.ConnectTimeout):
            return PredictTimeoutError(
                f"Connecting to {url} timed out after {self.timeout[0]} s",
                phase="connect",
            )
        if isinstance(exc, requests.ReadTimeout) or _wraps_read_timeout(exc):
            return PredictTimeoutError(
                f"No reply from {url} within the {self.timeout[1]} s read timeout",
                phase="read",
            )
        if isinstance(exc, requests.ConnectionError):
            return PredictConnectionError(
                f"Failed to connect to the model server at {url} "
                f"({_short_cause(exc, cause)}); check that it is running and that "
                "the URL is correct"
            )
        return PredictError(f"Request to {url} failed: {cause}")

    def _reply(self, response: requests.Response) -> Reply:
        """Check the status first, then decode the JSON body."""
        status = response.status_code
        if status >= 300:
            detail = redact_text(_detail(response), self.secrets)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error = error_for_status(status, detail, self.safe_url, retry_after)
            logger.debug("HTTP %d from %s", status, self.safe_url)
            raise error
        try:
            body = response.json()
        except ValueError:
            raise ResponseFormatError(
                f"Expected a JSON body from {self.safe_url} but got HTTP {status} "
                f"with content-type {response.headers.get('Content-Type')!r}: "
                f"{response.text[:80]!r}"
            ) from None
        return Reply(status_code=status, body=body)


def _wraps_read_timeout(exc: requests.RequestException) -> bool:
    """Tell whether a ConnectionError really is a read timeout during the body."""
    return any(isinstance(arg, ReadTimeoutError) for arg in exc.args)


def _short_cause(exc: BaseException, fallback: str) -> str:
    """The root reason of a connection failure, in a few words on one line."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
        if type(current).__name__ == "RemoteDisconnected":
            return "the server closed the connection without answering"
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return " ".join(fallback.split())[:120]

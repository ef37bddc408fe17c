"""Strip secrets from URLs and free text before they are logged or raised."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "redact_text", "redact_url"]

MASK = "***"

_SECRET_PARAM = re.compile(
    r"(api[_-]?key|key|token|secret|password|passwd|pwd|auth|signature|sig|"
    r"credential)",
    re.IGNORECASE,
)


def _is_secret_param(name: str) -> bool:
    """Tell whether a query parameter name looks like it holds a secret."""
    return _SECRET_PARAM.search(name) is not None


def _redact_netloc(netloc: str) -> str:
    """Replace the password in a `user:password@host` network location."""
    userinfo, sep, hostport = netloc.rpartition("@")
    if not sep:
        return netloc
    user, colon, _password = userinfo.partition(":")
    if not colon:
        return netloc
    return f"{user}:{MASK}@{hostport}"


def _redact_query(query: str) -> str:
    """Replace the values of secret-looking query parameters."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [(k, MASK if _is_secret_param(k) else v) for k, v in pairs]
    return urlencode(cleaned, safe="*", quote_via=quote)


def redact_url(url: str) -> str:
    """Return `url` with its userinfo password and secret query values masked.

    The password of `scheme://user:password@host` (percent-encoded or not) and the
    values of query parameters named like key, token, secret or password become
    `***`. Text that does not parse as a URL is returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = _redact_netloc(parts.netloc)
    query = _redact_query(parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    """Return `text` with every occurrence of each secret replaced by `***`.

    Both the raw and the percent-encoded form of each secret are masked. Empty and
    None secrets are skipped.
    """
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), unquote(secret)}:
            if form:
                text = text.replace(form, MASK)
    return text

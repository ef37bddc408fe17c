"""The retry policy shared by edge, cloud and OCR predictors, built on tenacity."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from streamer.exceptions import (
    PredictConnectionError,
    PredictTimeoutError,
    RateLimitExceededError,
    ServiceUnavailableError,
    ShutdownRequested,
)

__all__ = ["RetryPolicy"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a failed request again.

    Retried: connection failures and connect timeouts; read timeouts up to
    `read_timeout_retries` times; HTTP 502, 503 and 504. These share
    `max_attempts` (attempts in total, so 4 means three retries), with capped
    exponential backoff plus random jitter: `initial_wait_s * 2**(n-1)` after the
    n-th failure, at most `max_wait_s`, plus up to `jitter_s`.

    HTTP 429 is retried separately: each wait is the server's `Retry-After`
    (seconds or HTTP date), capped at `max_retry_after_s`, or
    `rate_limit_wait_s` without the header. Once the next wait would pass
    `rate_limit_budget_s` since the first attempt, the `RateLimitExceededError`
    is raised.

    A WARNING is logged before each sleep. When every retry is used up the last
    error is raised as it was. When the caller's stop event is set, the sleep
    ends at once with `ShutdownRequested`.
    """

    max_attempts: int = 4
    initial_wait_s: float = 0.5
    max_wait_s: float = 10.0
    jitter_s: float = 0.5
    read_timeout_retries: int = 1
    rate_limit_budget_s: float = 120.0
    max_retry_after_s: float = 60.0
    rate_limit_wait_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(
                f"max_attempts must be at least 1, got {self.max_attempts}"
            )

    @classmethod
    def edge_default(cls) -> RetryPolicy:
        """Policy for a local edge server: 3 attempts, short waits, 10 s for 429."""
        return cls(
            max_attempts=3,
            initial_wait_s=0.2,
            max_wait_s=2.0,
            jitter_s=0.1,
            rate_limit_budget_s=10.0,
            max_retry_after_s=5.0,
            rate_limit_wait_s=1.0,
        )

    @classmethod
    def no_retry(cls) -> RetryPolicy:
        """Policy that sends each request once, as `landingai`'s EdgePredictor."""
        return cls(max_attempts=1, read_timeout_retries=0, rate_limit_budget_s=0.0)

    def call(
        self,
        attempt: Callable[[], T],
        *,
        target: str,
        stop_event: threading.Event | None = None,
    ) -> T:
        """Run `attempt` until it succeeds or the policy gives up.

        Args:
            attempt: Sends the request once; raises a PredictError on failure.
            target: The redacted URL, for log lines.
            stop_event: When set, a pending retry is abandoned at once.

        Raises:
            ShutdownRequested: `stop_event` was set while waiting to retry.
        """
        run = _Run(self, target, stop_event)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            stop=run.should_stop,
            wait=run.wait,
            sleep=run.sleep,
            before_sleep=run.log_before_sleep,
            reraise=True,
        )
        return retrying(attempt)


def _is_transient(exc: BaseException) -> bool:
    """Tell whether an error may go away if the request is sent again."""
    return isinstance(
        exc,
        PredictConnectionError
        | PredictTimeoutError
        | ServiceUnavailableError
        | RateLimitExceededError,
    )


class _Run:
    """The counters of one `RetryPolicy.call`."""

    def __init__(
        self, policy: RetryPolicy, target: str, stop_event: threading.Event | None
    ) -> None:
        self.policy = policy
        self.target = target
        self.stop_event = stop_event
        self.failures = 0
        self.read_timeouts = 0
        self.last_error: BaseException | None = None
        self._counted_attempt = 0

    def _count(self, state: tenacity.RetryCallState) -> BaseException | None:
        """Update the counters once per failed attempt, whoever asks first."""
        exc = _exception(state)
        if state.attempt_number == self._counted_attempt:
            return exc
        self._counted_attempt = state.attempt_number
        self.last_error = exc
        if isinstance(exc, RateLimitExceededError):
            return exc
        self.failures += 1
        if isinstance(exc, PredictTimeoutError) and exc.phase == "read":
            self.read_timeouts += 1
        return exc

    def should_stop(self, state: tenacity.RetryCallState) -> bool:
        """Stop condition, checked after each failed retryable attempt."""
        exc = self._count(state)
        if isinstance(exc, RateLimitExceededError):
            elapsed = state.seconds_since_start or 0.0
            budget = self.policy.rate_limit_budget_s
            return elapsed + self._rate_limit_wait(exc) > budget
        if self.read_timeouts > self.policy.read_timeout_retries:
            return True
        return self.failures >= self.policy.max_attempts

    def wait(self, state: tenacity.RetryCallState) -> float:
        """Seconds to sleep before the next attempt."""
        exc = self._count(state)
        if isinstance(exc, RateLimitExceededError):
            return self._rate_limit_wait(exc)
        policy = self.policy
        exponent = max(0, self.failures - 1)
        backoff = min(policy.max_wait_s, policy.initial_wait_s * 2.0**exponent)
        return min(policy.max_wait_s, backoff + random.uniform(0.0, policy.jitter_s))

    def sleep(self, seconds: float) -> None:
        """Sleep, waking at once with ShutdownRequested when stop is asked."""
        if self.stop_event is None:
            time.sleep(seconds)
            return
        if self.stop_event.wait(seconds):
            raise ShutdownRequested(
                f"Stopped retrying the request to {self.target} because shutdown "
                "was requested"
            ) from self.last_error

    def log_before_sleep(self, state: tenacity.RetryCallState) -> None:
        """Log a WARNING naming the failure and the wait."""
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "Request to %s failed (attempt %d): %s; retrying in %.2f s",
            self.target,
            state.attempt_number,
            _exception(state),
            wait,
        )

    def _rate_limit_wait(self, exc: RateLimitExceededError) -> float:
        """The wait the server asked for, capped, or the policy's default."""
        if exc.retry_after is None:
            return self.policy.rate_limit_wait_s
        return min(exc.retry_after, self.policy.max_retry_after_s)


def _exception(state: tenacity.RetryCallState) -> BaseException | None:
    """The exception of the attempt that just failed."""
    if state.outcome is None:
        return None
    return state.outcome.exception()

"""When and how long to retry a model request, and how many requests a step may make.

This is the add-on's only retry layer: httpx does not retry, and nothing above it retries HTTP again. A
step's requests come out of one budget (`Attempts`, `max_attempts` in the settings): the retries after a
timeout, a dropped connection, a 429 or a 5xx, and the requests that ask again after a reply that does not
validate (`client.LLMClient.structured`). Whatever fails, a step makes at most `max_attempts` requests.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
"""Timeouts (of one read, or of the whole attempt), refused or reset connections, and servers that hang up
before the reply is complete."""


class Attempts:
    """The requests one step may still make."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def take(self) -> None:
        self.used += 1


def is_retryable_status(status: int) -> bool:
    """Rate limits and server-side failures may pass; other 4xx will fail the same way again."""
    return status == 429 or 500 <= status <= 599


RETRY_CONDITION = retry_if_exception_type(RETRYABLE_ERRORS) | retry_if_result(
    lambda response: is_retryable_status(response.status_code)
)


def retry_after_seconds(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """The wait a server asks for: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class WaitRetryAfter(wait_base):
    """Wait as long as the server's Retry-After asks, capped at `max_backoff`; else back off exponentially."""

    def __init__(self, max_backoff: float) -> None:
        self._max_backoff = max_backoff
        self._fallback = wait_exponential_jitter(max=max_backoff, jitter=1)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after_seconds(outcome.result().headers)
            if asked is not None:
                return min(asked, self._max_backoff)
        return self._fallback(retry_state)


def retry_policy(
    *, attempts: Attempts, max_backoff: float, before_sleep: Callable[[RetryCallState], None]
) -> AsyncRetrying:
    """Retrying for one request while its step has `attempts` left: sleeps with asyncio, so cancelling the
    task stops it mid-wait."""
    return AsyncRetrying(
        sleep=asyncio.sleep,
        stop=lambda _state: attempts.left <= 0,
        wait=WaitRetryAfter(max_backoff),
        retry=RETRY_CONDITION,
        before_sleep=before_sleep,
    )

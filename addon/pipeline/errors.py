"""The pipeline's own exceptions. Each one's str() is a one-line message fit to show to the user."""

from __future__ import annotations


class PipelineError(Exception):
    """Base; str(e) is a one-line human message, never containing a key."""


class LLMError(PipelineError):
    """The endpoint failed after retries, or answered unusably (status, reason).

    `status` is the HTTP status that ended the request, or None when the server never answered; then the
    transport's error (an `httpx.TransportError`: refused, timed out...) is the `__cause__`.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BudgetExceeded(PipelineError):
    """The run's request budget is spent."""


class StructuredOutputError(LLMError):
    """Reply still invalid after the repair attempt."""

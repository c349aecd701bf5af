"""Counting what a run spends: requests, tokens, time and money."""

from __future__ import annotations

import threading

from ..models import Usage


class UsageMeter:
    """The counters of one run, shared by all its clients and steps (which may run in several threads).

    A request is counted when it starts, so that concurrent steps cannot overrun the run's budget.
    `seconds` adds up the time of every request, so with concurrent steps it exceeds wall time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def start_request(self, budget: int | None) -> bool:
        """Count one more request; False (and nothing counted) when `budget` requests were made already."""
        with self._lock:
            if budget is not None and self._usage.requests >= budget:
                return False
            self._usage.requests += 1
            return True

    def add(
        self,
        *,
        seconds: float = 0.0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float | None = None,
    ) -> None:
        with self._lock:
            self._usage.seconds += seconds
            self._usage.prompt_tokens += prompt_tokens
            self._usage.completion_tokens += completion_tokens
            if cost_usd is not None:
                self._usage.cost_usd = (self._usage.cost_usd or 0.0) + cost_usd

    def snapshot(self) -> Usage:
        with self._lock:
            return self._usage.model_copy()

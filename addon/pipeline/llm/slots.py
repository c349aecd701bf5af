"""A bound on concurrent requests that serves waiting work by priority.

With more topics than slots, an FIFO semaphore lets a review (the last request of its topic) take the slot a
topic's generation or the Code and Extra Field Expert needs, which still have a review after them; serving
work with more requests still behind it first keeps the run's critical path short.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Slots:
    """`async with slots(priority):` holds one of `limit` slots; lower priorities are served first, equal
    priorities in the order they asked."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @asynccontextmanager
    async def __call__(self, priority: int) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():  # the slot came just as the wait was cancelled
                self._release()
            raise

    def _release(self) -> None:
        """Hand the slot to the first waiter still waiting, else free it."""
        while self._waiting:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

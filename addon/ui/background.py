"""Work that waits on the network, off the main thread, for windows that may close meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from aqt.main import AnkiQt

T = TypeVar("T")


def in_background(
    mw: AnkiQt,
    task: Callable[[], T],
    on_result: Callable[[T], None],
    on_error: Callable[[Exception], None],
    *,
    wanted: Callable[[], bool],
) -> None:
    """Run `task` in one of Anki's background threads, without the collection (not a `QueryOp`: those
    count as background operations, and the Browser waits on them); then `on_result` or `on_error` on
    the main thread, as long as `wanted()` still says so (the window is open)."""

    def finished(future: Future[T]) -> None:
        if not wanted():
            return
        try:
            result = future.result()
        except Exception as error:
            on_error(error)
        else:
            on_result(result)

    mw.taskman.run_in_background(task, finished, uses_collection=False)

"""Keeping Anki's main thread responsive while our threads work.

Python lets one thread run at a time; a thread busy in Python code is asked to hand over the GIL every
`sys.getswitchinterval()` seconds (5 ms by default). Each time the main thread calls into Qt or Anki's
backend it releases the GIL and must then wait up to that long to get it back, so a dialog update that makes
a few dozen such calls can stall for 100 ms and more while a run formats cards next to it. While our
background work goes on, the interval is lowered (process-wide, so it is restored as soon as the last of our
jobs ends).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_SWITCH_INTERVAL = 0.0005

_lock = threading.Lock()
_holders = 0
_saved = 0.0


def begin_background_work() -> None:
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved, BUSY_SWITCH_INTERVAL))
        _holders += 1


def end_background_work() -> None:
    global _holders
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0:
            sys.setswitchinterval(_saved)


@contextmanager
def background_work() -> Iterator[None]:
    begin_background_work()
    try:
        yield
    finally:
        end_background_work()

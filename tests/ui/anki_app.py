"""Helpers for tests that drive the add-on inside the session's real Anki."""

from __future__ import annotations

import gc
import importlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from aqt.qt import QAction, QApplication, QEventLoop, QTimer, QWidget

from tests.build_fixtures import PACKAGE, ROOT
from tests.e2e.make_profile import main as make_profile


def start_anki(base: Path):
    """Real Anki in this process, offscreen, on a fresh profile in `base` with the add-on copied from
    source (so the config and draft it writes stay out of the source tree); its main window once the
    profile is open."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
    make_profile(str(base))
    (base / "addons21").mkdir()
    shutil.copytree(ROOT / "addon", base / "addons21" / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    import aqt

    app = aqt._run(argv=["anki", "-b", str(base)], exec=False)
    deadline = time.monotonic() + 60
    while (aqt.mw is None or aqt.mw.col is None) and time.monotonic() < deadline:
        app.processEvents()  # the profile opens from the event loop
        time.sleep(0.01)
    assert aqt.mw is not None and aqt.mw.col is not None, "Anki did not open the profile"
    return aqt.mw


def stop_anki(mw, seconds: float = 1.5) -> None:
    """Close the profile, then run the deferred deletions (closed windows' webview pages among them) as
    Anki's own event loop would before it exits; else Qt tears down a web profile with pages still alive,
    and the process crashes."""
    from aqt.qt import QEvent

    mw.unloadProfileAndExit()
    app = QApplication.instance()
    assert app is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()
        time.sleep(0.01)


def wait_until(predicate: Callable[[], object], timeout: float, poll_ms: int = 10) -> None:
    """Run Qt's event loop until `predicate()` holds (as qtbot.waitUntil does, for code without pytest);
    TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout:g} s")
        QTimer.singleShot(poll_ms, loop.quit)
        loop.exec()


def server_config(mw, server) -> dict:
    """The add-on's config pointing at the local OpenAI-compatible server."""
    config = mw.addonManager.getConfig(PACKAGE)
    return config | {"base_url": server.url, "model": server.model, "api_key": "sk-test"}


def close_browser(qtbot, browser) -> None:
    """With no note in its editor the Browser closes at once (else it waits for the editor's page to save)."""
    browser.search_for("nid:0")
    qtbot.waitUntil(lambda: getattr(browser.editor, "note", None) is None, timeout=5_000)
    browser.close()


def menu_for(browser) -> list[QAction]:
    """The Browser's context menu as the add-ons fill it."""
    from aqt import gui_hooks
    from aqt.qt import QMenu

    menu = QMenu(browser)
    gui_hooks.browser_will_show_context_menu(browser, menu)
    return menu.actions()


def menu_action(mw, text: str) -> QAction:
    return next(action for action in mw.form.menuTools.actions() if action.text() == text)


def top_level(object_name: str) -> QWidget:
    return next(w for w in QApplication.topLevelWidgets() if w.objectName() == object_name and w.isVisible())


def shown(object_name: str) -> bool:
    return any(w.objectName() == object_name and w.isVisible() for w in QApplication.topLevelWidgets())


def wait_for_window(qtbot, object_name: str) -> QWidget:
    """The window with this object name, once something has opened it."""
    qtbot.waitUntil(lambda: shown(object_name), timeout=10_000)
    return top_level(object_name)


def addon_module(name: str) -> ModuleType:
    """A module of the add-on as Anki loaded it (package name = its folder name)."""
    return importlib.import_module(f"{PACKAGE}.{name}")


TICK_MS = 10
"""The heartbeat's interval: a gap of one tick is no stall."""
FREEZE_MS = 300
"""The main-thread stall a test fails on: the window froze. The goal while the add-on works is 50 ms;
that is a speed target, measured side by side with the machine's idle lateness by `bench/ui.py` and
`bench/review.py` (README, Performance), because this shared 2-core machine alone makes a timer 60-140 ms
late now and then. Tests hold only the line that work done on the main thread instead of a worker crosses:
one request to the server, or importing llama-index there (~900 ms)."""


class Heartbeat:
    """A 10 ms timer on the main thread. `worst_ms` is the longest gap between two ticks, less any garbage
    collection inside it: how long the window froze at worst by the code under test. Anki itself runs a full
    `gc.collect()` on the main thread a second after any dialog closes (and every 15 minutes), which takes
    ~100 ms once llama-index is loaded; that is `worst_gc_ms`, reported apart."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self.worst_gc_ms = 0.0
        self._last = 0.0
        self._gc_started = 0.0
        self._gc_ms = 0.0  # collecting time since the last tick
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def restart(self) -> None:
        """Count no gap up to now: work a test itself did on the main thread (deleting a deck, say)."""
        self._last, self._gc_ms = time.perf_counter(), 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst_ms = max(self.worst_ms, (now - self._last) * 1000 - self._gc_ms)
        self._last, self._gc_ms = now, 0.0

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = (time.perf_counter() - self._gc_started) * 1000
            self._gc_ms += took
            self.worst_gc_ms = max(self.worst_gc_ms, took)

    def __enter__(self) -> Heartbeat:
        self._last = time.perf_counter()
        gc.callbacks.append(self._on_gc)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()
        gc.callbacks.remove(self._on_gc)


def assert_never_freezes(qtbot, run: Callable[[], None], attempts: int = 3) -> None:
    """Fail unless one of up to `attempts` calls of `run` keeps the main thread's worst stall under FREEZE_MS,
    plus however late the timer comes in a second of doing nothing just before (the machine's, not ours)."""
    results: list[str] = []
    for _ in range(attempts):
        with Heartbeat() as idle:
            qtbot.wait(1000)
        with Heartbeat() as running:
            run()
        stall, noise = running.worst_ms - TICK_MS, max(0.0, idle.worst_ms - 2 * TICK_MS)
        results.append(f"{stall:.0f} ms (idle {idle.worst_ms - TICK_MS:.0f} ms)")
        if stall < FREEZE_MS + noise:
            return
    pytest.fail(f"the window froze: worst stalls {', '.join(results)}")

"""One real Anki main window for the whole session, offscreen, with the add-on loaded from source."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.build_fixtures import PACKAGE, ROOT
from tests.e2e.make_profile import main as make_profile


@pytest.fixture(scope="session")
def mw(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
    os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-pytest-{os.getpid()}"
    base = tmp_path_factory.mktemp("anki")
    make_profile(str(base))
    (base / "addons21").mkdir()
    # A copy, so that the config and draft the tests write stay out of the source tree.
    shutil.copytree(ROOT / "addon", base / "addons21" / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    import aqt

    app = aqt._run(argv=["anki", "-b", str(base)], exec=False)
    deadline = time.monotonic() + 60
    while (aqt.mw is None or aqt.mw.col is None) and time.monotonic() < deadline:
        app.processEvents()  # the profile opens from the event loop
        time.sleep(0.01)
    assert aqt.mw is not None and aqt.mw.col is not None, "Anki did not open the profile"
    yield aqt.mw
    aqt.mw.unloadProfileAndExit()
    # As Anki's own event loop would before it exits: run the deferred deletions (closed windows' webview
    # pages among them), else Qt tears down a web profile with pages still alive and the process crashes.
    from aqt.qt import QEvent

    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()
        time.sleep(0.01)

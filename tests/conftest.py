"""Fixtures shared by the whole test suite."""

import os
import sys

import pytest

# Qt without a screen, and QtWebEngine as root: set before anything imports aqt. Anki reads its
# single-instance key when aqt is imported (test modules import it while being collected): one per session,
# or two sessions on one machine would talk to each other's Anki.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-pytest-{os.getpid()}"

from .build_fixtures import local_addon, release_addons  # noqa: E402,F401  (fixtures: built add-ons)
from .fake_openai import fake_openai  # noqa: E402,F401  (fixture: the local OpenAI-compatible server)

_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After an in-process Anki (tests/ui), leave without the interpreter's teardown.

    Python then destroys Qt and QtWebEngine objects in no particular order while Chromium's threads still
    run, which crashes now and then (about one session in six here) after every test has passed and the
    summary is printed. Anki itself never tears down that way: it leaves through its own event loop.
    """
    if "aqt" in sys.modules and sys.modules["aqt"].mw is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)

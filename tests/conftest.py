"""Fixtures shared by the whole test suite."""

import os

# Qt without a screen, and QtWebEngine as root: set before anything imports aqt. Anki reads its
# single-instance key when aqt is imported (test modules import it while being collected): one per session,
# or two sessions on one machine would talk to each other's Anki.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-pytest-{os.getpid()}"

from .build_fixtures import local_addon, release_addons  # noqa: E402,F401  (fixtures: built add-ons)
from .fake_openai import fake_openai  # noqa: E402,F401  (fixture: the local OpenAI-compatible server)

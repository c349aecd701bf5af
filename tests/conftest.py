"""Fixtures shared by the whole test suite."""

import os

# Qt without a screen, and QtWebEngine as root: set before anything imports aqt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
# aqt reads this when first imported (collecting tests/ui imports it): without it, an Anki running
# elsewhere on the machine would take the test's place.
os.environ.setdefault("ANKI_SINGLE_INSTANCE_KEY", f"aicg-pytest-{os.getpid()}")

from .build_fixtures import local_addon, release_addons  # noqa: E402,F401  (fixtures: built add-ons)
from .fake_openai import fake_openai  # noqa: E402,F401  (fixture: the local OpenAI-compatible server)

"""Fixtures shared by the whole test suite."""

import os

# Qt without a screen, and QtWebEngine as root: set before anything imports aqt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

# --- fake OpenAI-compatible server (tests/fake_openai.py) ---------------------------------------------------
from .fake_openai import fake_openai  # noqa: E402,F401  (a fixture)
# --- end fake OpenAI-compatible server ---------------------------------------------------------------------

# --- built add-ons (tests/build_fixtures.py) ----------------------------------------------------------------
from .build_fixtures import local_addon, release_addons  # noqa: E402,F401  (fixtures)
# --- end built add-ons -------------------------------------------------------------------------------------

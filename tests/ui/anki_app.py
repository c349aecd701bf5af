"""Helpers for tests that drive the add-on inside the session's real Anki."""

from __future__ import annotations

import importlib
from types import ModuleType

from aqt.qt import QAction, QApplication, QWidget

from tests.build_fixtures import PACKAGE


def menu_action(mw, text: str) -> QAction:
    return next(action for action in mw.form.menuTools.actions() if action.text() == text)


def top_level(object_name: str) -> QWidget:
    return next(w for w in QApplication.topLevelWidgets() if w.objectName() == object_name and w.isVisible())


def addon_module(name: str) -> ModuleType:
    """A module of the add-on as Anki loaded it (package name = its folder name)."""
    return importlib.import_module(f"{PACKAGE}.{name}")

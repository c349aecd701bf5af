"""Registers the add-on's menu entries; everything heavy loads on first use (see loader.py)."""

from __future__ import annotations

from aqt import mw
from aqt.qt import QAction, qconnect

MENU_TEXT = "Generate Cards…"


def init() -> None:
    action = QAction(MENU_TEXT, mw)
    qconnect(action.triggered, _on_generate)
    mw.form.menuTools.addAction(action)


def _on_generate() -> None:
    from .ui.generate_dialog import show_generate_dialog

    show_generate_dialog(mw)

"""Registers the add-on's menu entry and dialog; everything heavy loads on first use (see loader.py)."""

from __future__ import annotations

import aqt
from aqt import mw
from aqt.qt import QAction, QWidget, qconnect

from .ui import GENERATE_DIALOG

MENU_TEXT = "Generate Cards…"


def init() -> None:
    aqt.dialogs.register_dialog(GENERATE_DIALOG, _create_generate_dialog)
    action = QAction(MENU_TEXT, mw)
    qconnect(action.triggered, lambda: aqt.dialogs.open(GENERATE_DIALOG, mw))
    mw.form.menuTools.addAction(action)


def _create_generate_dialog(main_window: aqt.main.AnkiQt) -> QWidget:
    from .ui.generate_dialog import GenerateDialog

    dialog = GenerateDialog(main_window)
    dialog.show()
    return dialog

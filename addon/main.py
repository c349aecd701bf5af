"""Registers the add-on's menu entries, dialogs and Config button; everything heavy loads on first use (see
loader.py)."""

from __future__ import annotations

import aqt
from aqt import mw
from aqt.qt import QAction, QWidget, qconnect

from .ui import GENERATE_DIALOG, SETTINGS_DIALOG

MENU_TEXT = "Generate Cards…"
SETTINGS_MENU_TEXT = "Generate Cards Settings…"


def init() -> None:
    aqt.dialogs.register_dialog(GENERATE_DIALOG, _create_generate_dialog)
    aqt.dialogs.register_dialog(SETTINGS_DIALOG, _create_settings_dialog)
    _add_menu_entry(MENU_TEXT, GENERATE_DIALOG)
    _add_menu_entry(SETTINGS_MENU_TEXT, SETTINGS_DIALOG)
    mw.addonManager.setConfigAction(__name__, _open_settings)


def _add_menu_entry(text: str, dialog: str) -> None:
    action = QAction(text, mw)
    qconnect(action.triggered, lambda: aqt.dialogs.open(dialog, mw))
    mw.form.menuTools.addAction(action)


def _create_generate_dialog(main_window: aqt.main.AnkiQt) -> QWidget:
    from .ui.generate_dialog import GenerateDialog

    dialog = GenerateDialog(main_window)
    dialog.show()
    return dialog


def _create_settings_dialog(main_window: aqt.main.AnkiQt) -> QWidget:
    from .ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(main_window)
    dialog.show()
    return dialog


def _open_settings() -> None:
    """The add-on's Config button (Tools → Add-ons): our window instead of the JSON editor."""
    aqt.dialogs.open(SETTINGS_DIALOG, mw)

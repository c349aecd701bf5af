"""Registers the add-on's entry points, dialogs and Config button; everything heavy loads on first use (see
loader.py)."""

from __future__ import annotations

from collections.abc import Callable

import aqt
from aqt import gui_hooks, mw
from aqt.qt import QAction, QWidget, qconnect

from .ui import GENERATE_DIALOG, REVIEW_DIALOG, SETTINGS_DIALOG
from .ui.entry_points import (
    TOOLS_TEXT,
    add_browser_actions,
    add_browser_notes_menu,
    add_editor_button,
    create_generate_dialog,
    create_review_dialog,
    open_generate,
)

MENU_TEXT = TOOLS_TEXT
SETTINGS_MENU_TEXT = "Generate Cards Settings…"


def init() -> None:
    aqt.dialogs.register_dialog(GENERATE_DIALOG, create_generate_dialog)
    aqt.dialogs.register_dialog(SETTINGS_DIALOG, _create_settings_dialog)
    aqt.dialogs.register_dialog(REVIEW_DIALOG, create_review_dialog)
    _add_menu_entry(MENU_TEXT, lambda: open_generate(mw))
    _add_menu_entry(SETTINGS_MENU_TEXT, _open_settings)
    mw.addonManager.setConfigAction(__name__, _open_settings)
    gui_hooks.browser_will_show_context_menu.append(add_browser_actions)
    gui_hooks.browser_menus_did_init.append(add_browser_notes_menu)
    gui_hooks.editor_did_init_buttons.append(add_editor_button)


def _add_menu_entry(text: str, open_dialog: Callable[[], None]) -> None:
    action = QAction(text, mw)
    qconnect(action.triggered, open_dialog)
    mw.form.menuTools.addAction(action)


def _create_settings_dialog(main_window: aqt.main.AnkiQt) -> QWidget:
    from .ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(main_window)
    dialog.show()
    return dialog


def _open_settings() -> None:
    """The add-on's Config button (Tools → Add-ons): our window instead of the JSON editor."""
    aqt.dialogs.open(SETTINGS_DIALOG, mw)

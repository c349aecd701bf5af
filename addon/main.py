"""Registers the add-on's entry points and dialog; everything heavy loads on first use (see loader.py)."""

from __future__ import annotations

import aqt
from aqt import gui_hooks, mw
from aqt.qt import QAction

from .ui import GENERATE_DIALOG
from .ui.entry_points import (
    TOOLS_TEXT,
    add_browser_actions,
    add_browser_notes_menu,
    add_editor_button,
    create_generate_dialog,
    open_generate,
)

MENU_TEXT = TOOLS_TEXT


def init() -> None:
    aqt.dialogs.register_dialog(GENERATE_DIALOG, create_generate_dialog)
    action = QAction(MENU_TEXT, mw)
    action.triggered.connect(lambda: open_generate(mw))
    mw.form.menuTools.addAction(action)
    gui_hooks.browser_will_show_context_menu.append(add_browser_actions)
    gui_hooks.browser_menus_did_init.append(add_browser_notes_menu)
    gui_hooks.editor_did_init_buttons.append(add_editor_button)

"""Where the windows open from. Generate Cards: Tools, the Browser (context menu and Notes menu) and the
editor's toolbar (Add and Edit windows). Review Cards: the Browser (context menu and Notes menu). Each opens
the one window of its kind the dialog manager keeps. The Browser also gets the two provenance searches: from
generated notes to their sources, and back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aqt
from aqt.browser.browser import Browser
from aqt.main import AnkiQt
from aqt.qt import QMenu, QWidget
from aqt.utils import tooltip

from ..notes.provenance import generated_from_search, source_note_ids, source_notes_search
from ..notes.sources import NoteSource, note_sources, source_from_fields
from . import GENERATE_DIALOG, REVIEW_DIALOG

TOOLS_TEXT = "Generate Cards…"
BROWSER_TEXT = "Generate cards from selected notes"
REVIEW_TEXT = "Review selected cards with AI…"
SOURCE_TEXT = "Go to source note"
GENERATED_TEXT = "Find cards generated from these notes"
EDITOR_TIP = "Generate cards from this note"
EDITOR_COMMAND = "aicg_generate"


def open_review(mw: AnkiQt, note_ids: Sequence[int] = ()) -> None:
    aqt.dialogs.open(REVIEW_DIALOG, mw, note_ids=list(note_ids))


def create_review_dialog(mw: AnkiQt, note_ids: Sequence[int] = ()) -> QWidget:
    from .review.dialog import ReviewDialog

    dialog = ReviewDialog(mw, note_ids)
    dialog.show()
    return dialog


def open_generate(mw: AnkiQt, notes: Sequence[NoteSource] = ()) -> None:
    aqt.dialogs.open(GENERATE_DIALOG, mw, notes=list(notes))


def create_generate_dialog(mw: AnkiQt, notes: Sequence[NoteSource] = ()) -> QWidget:
    from .generate.dialog import GenerateDialog

    dialog = GenerateDialog(mw, notes)
    dialog.show()
    return dialog


# Browser


def add_browser_actions(browser: Browser, menu: QMenu) -> None:
    """The add-on's actions at the end of `menu` (the context menu, or the Notes menu)."""
    menu.addSeparator()
    for text, handler in (
        (BROWSER_TEXT, generate_from_browser),
        (REVIEW_TEXT, review_from_browser),
        (SOURCE_TEXT, go_to_sources),
        (GENERATED_TEXT, find_generated),
    ):
        action = menu.addAction(text)
        assert action is not None
        action.triggered.connect(lambda _=False, handler=handler: handler(browser))


def add_browser_notes_menu(browser: Browser) -> None:
    add_browser_actions(browser, browser.form.menu_Notes)


def generate_from_browser(browser: Browser) -> None:
    note_ids = browser.selected_notes()
    notes = note_sources(browser.mw.col, note_ids)
    if not notes:
        tooltip("Select notes with some text first.", parent=browser)
        return
    open_generate(browser.mw, notes)


def review_from_browser(browser: Browser) -> None:
    """The selected notes (of the selected cards, in card mode) into the review window."""
    note_ids = browser.selected_notes()
    if not note_ids:
        tooltip("Select the cards to review first.", parent=browser)
        return
    open_review(browser.mw, note_ids)


def go_to_sources(browser: Browser) -> None:
    sources = source_note_ids(browser.mw.col, browser.selected_notes())
    if not sources:
        tooltip("The selected notes were not generated from notes.", parent=browser)
        return
    browser.search_for(source_notes_search(sources))


def find_generated(browser: Browser) -> None:
    note_ids = browser.selected_notes()
    if note_ids:
        browser.search_for(generated_from_search(note_ids))


# Editor


def add_editor_button(buttons: list[str], editor: Any) -> None:
    buttons.append(
        editor.addButton(
            icon=None, cmd=EDITOR_COMMAND, func=generate_from_editor, tip=EDITOR_TIP, label="AI Cards"
        )
    )


def generate_from_editor(editor: Any) -> None:
    """The note in the editor as the source (its saved state: the editor saves before calling this)."""
    mw: AnkiQt = editor.mw
    note = getattr(editor, "note", None)
    if note is not None:  # the classic editor holds the note
        names = mw.col.models.field_names(note.note_type())
        _open_from_fields(mw, names, note.fields, note.id)
        return

    def on_info(info: Any) -> None:  # Anki's newer editor (26.9+) reads the note from its page
        notetype = mw.col.models.get(info.mid)
        names = mw.col.models.field_names(notetype) if notetype else []
        _open_from_fields(mw, names, info.fields, info.id)

    editor.get_note_info(on_info)


def _open_from_fields(mw: AnkiQt, names: Sequence[str], fields: Sequence[str], note_id: int | None) -> None:
    from anki.notes import NoteId

    from ..notes.sources import home_deck

    nid = NoteId(note_id) if note_id else None
    deck = home_deck(mw.col, nid) if nid else None
    source = source_from_fields(names, fields, note_id=nid, deck_id=deck)
    if not source.text:
        tooltip("Write something in the note first.", parent=mw)
        return
    open_generate(mw, [source])

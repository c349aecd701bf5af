"""The Generate Cards window: a source (pasted text or notes), a run whose cards stream into a preview,
each card rendered and editable, regeneration with feedback, and Add in one undoable step.

Its frame is `RunWindow` (window.py): the run's cards go into the draft session (journaled) whether or not
the window is still open; closing stops the run, and a profile close waits for an add in progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anki.decks import DeckId
from aqt.deckchooser import DeckChooser
from aqt.main import AnkiQt
from aqt.operations import QueryOp
from aqt.qt import (
    QCheckBox,
    QHBoxLayout,
    QKeySequence,
    QLineEdit,
    QMenu,
    QPushButton,
    QShortcut,
    QSignalBlocker,
    QSplitter,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from aqt.utils import restoreGeom, restoreSplitter, tooltip
from PyQt6 import sip

from ...notes.sources import NoteSource
from ...pipeline.wording import count_of
from ...responsive import begin_background_work
from .. import GENERATE_DIALOG
from .bars import CheckAllRow, RunStatus
from .card_editor import CardEditor
from .card_view import CardView
from .earlier_drafts import EarlierDrafts, Leftovers
from .notices import NoticeArea
from .preview import Duplicates, draft_model, editor_fields, with_editor_fields
from .runs import Outcome, RunDriver
from .source_picker import SourcePicker
from .table import RowsTable
from .window import RunWindow

if TYPE_CHECKING:
    from ...drafts import DraftCard, DraftSession
    from ...notes.insert import AddResult
    from ...pipeline.cards.anki_markup import MarkupPolicy
    from ...pipeline.models import Card, Source
    from ..setup_notice import SetupNotice

GEOMETRY_KEY = "aicg_generate"
USER_FILES = Path(__file__).resolve().parents[2] / "user_files"
TEXT_DRAFT = USER_FILES / "draft.txt"

OPENING_STEP_MS = 60
"""The pause between the pieces of work that follow the window's opening."""


class GenerateDialog(RunWindow):
    DIALOG = GENERATE_DIALOG
    GEOMETRY = GEOMETRY_KEY

    def __init__(self, main_window: AnkiQt, notes: Sequence[NoteSource] = ()) -> None:
        super().__init__(main_window, name="aicg_generate_dialog", title="Generate Cards")
        self.session: DraftSession | None = None
        self.setup_notice: SetupNotice | None = None
        self.duplicates = Duplicates()
        self.adding = False
        self._rows_changed = False
        self._select_after_update: list[int] = []
        self._shown: tuple[DraftCard, Card] | None = None
        """The draft in the card view and editor, and its card as shown."""
        self._build_ui()
        restoreGeom(self, GEOMETRY_KEY, default_size=(1100, 760))
        restoreSplitter(self.splitter, GEOMETRY_KEY)
        self.source_picker.set_text(TEXT_DRAFT.read_text(encoding="utf-8") if TEXT_DRAFT.exists() else "")
        self.set_notes(notes)
        self._set_status("Loading the card generator…")
        self._update_buttons()
        self.card_view.show_message("Generated cards appear here as each topic is finished.")
        # The rest once the window is on screen, one piece at a time, so that Anki stays responsive meanwhile.
        QTimer.singleShot(0, self.card_view.start)  # a webview: the costly part of opening, one C++ call
        QTimer.singleShot(OPENING_STEP_MS, self._start_loading)
        QTimer.singleShot(2 * OPENING_STEP_MS, self._prepare_collection)

    # building

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.notices = NoticeArea()
        """One-line notices at the top (unfinished drafts; settings that need attention)."""
        layout.addWidget(self.notices)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        layout.addWidget(self.splitter, stretch=1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        self.source_picker = SourcePicker()
        top_layout.addWidget(self.source_picker)
        deck_row = QHBoxLayout()
        deck_box = QWidget()
        self.deck_chooser = DeckChooser(self.mw, deck_box, label=True, on_deck_changed=self._on_deck_chosen)
        self.note_decks = QCheckBox("Each note's cards go to that note's deck")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate cards (Ctrl+Enter)")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop the run; the cards finished so far stay")
        deck_row.addWidget(deck_box, stretch=1)
        deck_row.addWidget(self.note_decks)
        deck_row.addWidget(self.generate_button)
        deck_row.addWidget(self.cancel_button)
        top_layout.addLayout(deck_row)
        self.run_status = RunStatus()
        self.progress = self.run_status.progress
        self.status_label = self.run_status.status_label
        self.usage_label = self.run_status.usage_label
        top_layout.addWidget(self.run_status)
        self.splitter.addWidget(top)

        preview = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.model = draft_model(self.duplicates, self._source_title)
        self.table = RowsTable(self.model)
        left_layout.addWidget(self.table)
        self.check_row = CheckAllRow(
            self.table,
            accept_all="Accept every card (Space toggles the selected ones)",
            reject_all="Reject every card",
        )
        self.count_label = self.check_row.count_label
        left_layout.addWidget(self.check_row)
        regenerate_row = QHBoxLayout()
        self.feedback_edit = QLineEdit()
        self.feedback_edit.setPlaceholderText(
            "Feedback for the selected cards: shorter, make it a cloze, in German…"
        )
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("Make the selected cards again with this feedback (Enter)")
        regenerate_row.addWidget(self.feedback_edit, stretch=1)
        regenerate_row.addWidget(self.regenerate_button)
        left_layout.addLayout(regenerate_row)
        preview.addWidget(left)
        right = QSplitter(Qt.Orientation.Vertical)
        self.card_view = CardView(self.mw)
        self.editor = CardEditor()
        right.addWidget(self.card_view)
        right.addWidget(self.editor)
        right.setSizes([420, 240])
        preview.addWidget(right)
        preview.setSizes([680, 400])
        self.splitter.addWidget(preview)
        self.splitter.setSizes([220, 520])

        buttons = QHBoxLayout()
        self.drafts_button = QPushButton("Drafts")
        self.drafts_button.setToolTip("Cards from earlier runs that were not added yet")
        self.drafts_menu = QMenu(self)
        self.drafts_button.setMenu(self.drafts_menu)
        self.insert_button = QPushButton("Add cards")
        self.insert_button.setToolTip(
            "Add the accepted cards in one step (Ctrl+Shift+Enter); Edit → Undo removes them"
        )
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.drafts_button)
        buttons.addStretch()
        buttons.addWidget(self.insert_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        for button in (self.generate_button, self.cancel_button, self.regenerate_button, self.insert_button):
            button.setAutoDefault(False)

        self.generate_button.clicked.connect(self._on_generate)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.regenerate_button.clicked.connect(self._on_regenerate)
        self.feedback_edit.returnPressed.connect(self._on_regenerate)
        self.insert_button.clicked.connect(self._on_insert)
        self.close_button.clicked.connect(self.reject)
        self.model.checked_changed.connect(self._on_checked_changed)
        self.table.current_row_changed.connect(self._show_row)
        self.table.selection().selectionChanged.connect(lambda *_: self._update_buttons())
        self.editor.edited.connect(self._on_edited)
        self.drafts_menu.aboutToShow.connect(self._fill_drafts_menu)
        QShortcut(QKeySequence("Ctrl+Return"), self, self._on_generate)
        QShortcut(QKeySequence("Ctrl+Shift+Return"), self, self._on_insert)

    # what the learner sees

    def set_notes(self, notes: Sequence[NoteSource]) -> None:
        """Generate from these notes (from the Browser or the editor); their deck becomes the default."""
        self.source_picker.set_notes(notes)
        decks = {note.deck_id for note in notes if note.deck_id}
        if notes and notes[0].deck_id:
            self.deck_chooser.selected_deck_id = notes[0].deck_id
        self.note_decks.setVisible(len(decks) > 1)
        self.note_decks.setChecked(len(decks) > 1)

    def set_source_text(self, text: str, title: str = "") -> None:
        self.source_picker.set_text(text, title)
        self.source_picker.setCurrentIndex(0)

    def drafts(self) -> list[DraftCard]:
        """The cards in the preview."""
        return self.model.rows()

    def _update_buttons(self) -> None:
        if not self._alive():
            return
        running = self.run_state == "running"
        ready = self.pipeline_state == "ready"
        accepted = len(self.model.checked_rows())
        self.generate_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        self.regenerate_button.setEnabled(ready and not running and bool(self.table.selected_rows()))
        self.insert_button.setEnabled(not running and not self.adding and accepted > 0)
        self.insert_button.setText(
            f"Add {accepted} card{'s' if accepted != 1 else ''}" if accepted else "Add cards"
        )
        self.drafts_button.setEnabled(self.journal is not None and not running)
        rows = self.model.rowCount()
        self.count_label.setText(f"{accepted} of {rows} accepted" if rows else "")

    def _source_title(self, draft: DraftCard) -> str:
        if self.session is None:
            return ""
        return self.session.run.source_of(draft.card).title or "Pasted text"

    # loading

    def _pipeline_ready(self) -> None:
        from ...drafts import drafts_journal
        from ..setup_notice import SetupNotice

        self.journal = drafts_journal(USER_FILES)
        self.earlier = EarlierDrafts(
            self.journal,
            self.notices,
            self.open_draft,
            lambda: self.session.id if self.session else None,
            Leftovers(pending=lambda run: run.pending(), title=lambda run: run.title),
        )
        self._set_status("Ready.")
        self.setup_notice = SetupNotice(self.mw, self.notices)  # the settings check needs the libraries
        self.setup_notice.refresh()
        self.earlier.offer()

    def _prepare_collection(self) -> None:
        """Our note types ready (previews render with them), then the duplicate keys loaded."""
        from ...notes.notetypes import notetypes_ready
        from ..operations import prepare_notetypes_op

        if not self._alive():
            return
        if notetypes_ready(self.mw.col):
            self._load_duplicates()
        else:
            # Parented to the main window: this window may close before the operation ends.
            op = prepare_notetypes_op(parent=self.mw).success(lambda _: self._load_duplicates())
            op.run_in_background()

    def _load_duplicates(self) -> None:
        from ...notes.duplicates import existing_keys

        if not self._alive():
            return

        def success(keys: dict[Any, set[str]]) -> None:
            if self._alive() and not sip.isdeleted(self.model):
                self.duplicates.keys = keys
                self.model.refresh()

        QueryOp(
            parent=self.mw,
            op=lambda col: {kind: existing_keys(col, kind) for kind in ("basic", "cloze")},
            success=success,
        ).run_in_background()

    # drafts from earlier runs

    def open_draft(self, entry_id: str) -> None:
        from ...drafts import DraftSession

        entry = self._journal_entry(entry_id)
        if entry is None or self.journal is None:
            return
        session = DraftSession.resume(self.journal, entry)
        self._show_session(session)
        if session.run.deck_id:
            self.deck_chooser.selected_deck_id = session.run.deck_id  # type: ignore[assignment]
        self._set_status(
            session.run.message or f"{count_of(len(session.run.pending()), 'card')} from an earlier run."
        )

    # generating

    def _on_generate(self) -> None:
        from ...drafts import DraftRun, DraftSession

        if self.pipeline_state != "ready" or self.run_state == "running" or self.journal is None:
            return
        sources = self._sources()
        if not sources:
            self._set_status(
                "Select notes in the Browser first."
                if self.source_picker.from_notes()
                else "Paste some text first."
            )
            return
        if (settings := self._settings()) is None:
            return
        notes = self.source_picker.notes() if self.source_picker.from_notes() else []
        run = DraftRun(
            title=_run_title(sources),
            sources=sources,
            math=settings.math,
            deck_id=self.deck_chooser.selected_deck_id,
            note_decks={
                n.note_id: n.deck_id for n in notes if n.note_id and n.deck_id and self.note_decks.isChecked()
            },
        )
        self._show_session(DraftSession(self.journal, run))
        self._start(lambda driver: driver.generate(settings), "Generating…")

    def _sources(self) -> list[Source]:
        from ...pipeline.models import Source

        if self.source_picker.from_notes():
            return [Source(text=n.text, title=n.title, note_id=n.note_id) for n in self.source_picker.notes()]
        text = self.source_picker.text()
        return [Source(text=text, title=self.source_picker.title())] if text else []

    def _settings_refused(self) -> None:
        if self.setup_notice is not None:
            self.setup_notice.refresh()  # with its Open Settings… button

    def _start(self, begin: Callable[[RunDriver], None], status: str) -> None:
        assert self.session is not None
        self.session.save()
        self.driver = RunDriver(self.mw, self.session, self)
        self.run_state = "running"
        self.run_status.started()
        self._set_status(status)
        self._update_buttons()
        begin(self.driver)

    def _on_cancel(self) -> None:
        if self.driver is not None and self.driver.running:
            self.driver.cancel()
            self._set_status("Stopping…")

    # RunListener: called on the main thread while the window is open

    def run_cards_changed(self, new_rows: Sequence[int]) -> None:
        if self._alive():
            self._rows_changed = True
            self._select_after_update = list(new_rows) or self._select_after_update
            self._schedule_update()

    def _apply_updates(self) -> None:
        self._update_timer.stop()
        if not self._alive():
            return
        if self._rows_changed:
            select, self._select_after_update, self._rows_changed = self._select_after_update, [], False
            self._refresh_rows(select=select)
        event, self._progress_event = self._progress_event, None
        if event is None:
            return
        self.run_status.advanced(event.topics_done, event.topics_total, "topics", event.usage.describe())
        if self.cancel_button.isEnabled():  # not while stopping
            self._set_status(event.message)

    def run_finished(self, outcome: Outcome) -> None:
        if not self._alive():
            return
        self._apply_updates()
        self.run_state = "idle" if outcome.ok else "failed"
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if outcome.ok else 0)
        self.progress.setFormat("%p%")
        self._set_status(outcome.message)
        self._refresh_rows()
        self.model.refresh()  # the final lints, redone across all cards, may flag rows already shown
        self._update_buttons()

    # preview

    def _show_session(self, session: DraftSession) -> None:
        self.session = session
        self._shown = None
        self.editor.set_fields({})
        self._refresh_rows()
        if self.model.rowCount():
            self.table.select_row(0)
        else:
            self.card_view.show_message("Generated cards appear here as each topic is finished.")

    def _refresh_rows(self, select: Sequence[int] = ()) -> None:
        """Show the session's cards not added yet, keeping the selection where it was."""
        if self.session is None:
            return
        current = self._current()
        chosen = {self.model.row(row).card.id for row in self.table.selected_rows()}
        rows = self.session.run.pending()
        if select:
            chosen = {
                self.session.run.cards[row].card.id for row in select if row < len(self.session.run.cards)
            }
        with QSignalBlocker(self.table):  # one update of the card view and editor below, not one per step
            if not self.model.set_rows(rows) or select or current is None:
                numbers = [n for n, draft in enumerate(rows) if draft.card.id in chosen]
                keep = next(
                    (n for n, d in enumerate(rows) if current is not None and d.card.id == current.card.id),
                    None,
                )
                if keep is None and rows and current is None:
                    keep = 0  # the first card to arrive is shown at once
                if select and numbers:
                    keep = numbers[0]
                self.table.select_rows(numbers or ([keep] if keep is not None else []), current=keep)
        self._show_row(self.table.currentIndex().row())
        self._update_buttons()

    def _current(self) -> DraftCard | None:
        row = self.table.currentIndex().row()
        return self.model.row(row) if 0 <= row < self.model.rowCount() else None

    def _show_row(self, row: int) -> None:
        if not self._alive():
            return
        draft = self.model.row(row) if 0 <= row < self.model.rowCount() else None
        if draft is not None and (draft, draft.card) == self._shown:
            return  # already shown as it is
        self.editor.flush()
        self._shown = (draft, draft.card) if draft is not None else None
        if draft is None:
            self.editor.set_fields({})
            self.card_view.show_message("Select a card to see it as Anki will show it.")
            return
        self.editor.set_fields(editor_fields(draft.card.draft))
        self._render(draft)

    def _render(self, draft: DraftCard) -> None:
        from ...notes.render import render_card
        from ...pipeline.cards.formatting import note_fields

        card = draft.card
        fields = card.fields or note_fields(card.draft, self._markup())
        try:
            rendered = render_card(self.mw.col, card.draft.kind, fields)
        except Exception as error:  # a template the learner broke: say so instead of failing
            self.card_view.show_message(f"This card can't be previewed: {error}")
            return
        self.card_view.show_card(rendered)

    def _on_edited(self, fields: dict[str, str]) -> None:
        from ...pipeline.cards.formatting import format_card

        draft = self._current()
        if draft is None or self.session is None or not self._alive():
            return
        new_draft = with_editor_fields(draft.card.draft, fields)
        if new_draft == draft.card.draft:
            return
        draft.card = format_card(draft.card.model_copy(update={"draft": new_draft}), self._markup())
        draft.edited = True
        self._shown = (draft, draft.card)
        self.session.save()
        self.model.row_changed(self.table.currentIndex().row())
        self._render(draft)

    def _markup(self) -> MarkupPolicy:
        """The math and media tags the session's cards may keep: as for the run that made them."""
        from ...pipeline.cards.anki_markup import MarkupPolicy

        assert self.session is not None
        run = self.session.run
        return MarkupPolicy.for_sources((source.text for source in run.sources), run.math)

    def _on_checked_changed(self) -> None:
        if self.session is not None and self._alive():
            self.session.save()
            self._update_buttons()

    # regenerating

    def _on_regenerate(self) -> None:
        if self.session is None or self.run_state == "running" or self.pipeline_state != "ready":
            return
        chosen = [self.model.row(row) for row in self.table.selected_rows()]
        feedback = " ".join(self.feedback_edit.text().split())
        if not chosen:
            self._set_status("Select the cards to make again.")
            return
        if not feedback:
            self._set_status("Say what to change, e.g. “shorter” or “make it a cloze”.")
            self.feedback_edit.setFocus()
            return
        if (settings := self._settings()) is None:
            return
        self.editor.flush()
        run = self.session.run
        groups: dict[int | None, list[Any]] = {}
        for draft in chosen:
            groups.setdefault(draft.card.provenance.source_note_id, []).append(draft.card)
        jobs = [(cards, run.source_of(cards[0])) for cards in groups.values()]
        count = len(chosen)
        self._start(
            lambda driver: driver.regenerate(jobs, feedback, settings),
            f"Making {count} card{'s' if count != 1 else ''} again: {feedback}…",
        )

    # adding

    def _on_insert(self) -> None:
        from ...config import default_tags
        from ...notes.insert import Origin
        from ...notes.notetypes import needs_new_fields
        from ..operations import add_cards_op

        if self.session is None or self.adding or self.run_state == "running":
            return
        self.editor.flush()
        session = self.session
        drafts = session.run.to_add()
        if not drafts:
            return
        add_fields = not needs_new_fields(self.mw.col) or self.mw.confirm_schema_modification()
        run = session.run
        # The deck chosen for the run, not the chooser's: once that deck is deleted, Anki's chooser shows
        # Default without a word, and adding must say so instead (insert.MissingDeck).
        deck_id = DeckId(run.deck_id or self.deck_chooser.selected_deck_id)
        run.deck_id = deck_id
        origins = {
            source.note_id: Origin(
                source.title, source.note_id, _deck(run.note_decks.get(source.note_id or 0))
            )
            for source in run.sources
        }
        self.adding = True
        self._update_buttons()
        begin_background_work()  # the add's Python part runs in Anki's collection thread
        (
            add_cards_op(
                parent=self.mw,
                cards=[draft.card for draft in drafts],
                deck_id=deck_id,
                tags=default_tags(self.mw),
                origins=origins,
                add_fields=add_fields,
            )
            .success(lambda result: self._on_inserted(session, result))
            .failure(self._on_insert_failed)
            .run_in_background()
        )

    def _on_inserted(self, session: DraftSession, result: AddResult) -> None:
        """Mark the cards added, in the journal too, even if the window closed meanwhile."""
        session.run.mark_added(result.note_ids, result.skipped_card_ids)
        session.save()
        self._add_finished()
        skipped = f"; {result.skipped} already in your collection" if result.skipped else ""
        message = f"Added {result.added} card{'s' if result.added != 1 else ''}{skipped}."
        tooltip(message, parent=self.mw)
        if self._alive():
            self._set_status(message + " Edit → Undo removes them.")
            self._refresh_rows()

    def _on_insert_failed(self, error: Exception) -> None:
        """Adding is all or nothing: the cards stay here to try again, to the deck the chooser shows."""
        if self.session is not None:
            self.session.run.deck_id = self.deck_chooser.selected_deck_id
        self._add_finished()
        self._set_status(f"No cards were added: {error}")

    def _on_deck_chosen(self, deck_id: int) -> None:
        if self.session is not None:
            self.session.run.deck_id = deck_id
            self.session.save()

    def _add_finished(self) -> None:
        self.adding = False
        self._update_buttons()
        self._op_finished()

    # closing

    def _op_in_progress(self) -> bool:
        return self.adding

    def _before_close(self) -> None:
        self.editor.flush()
        USER_FILES.mkdir(exist_ok=True)
        TEXT_DRAFT.write_text(self.source_picker.text_edit.toPlainText(), encoding="utf-8")

    def _cleanup(self) -> None:
        self.deck_chooser.cleanup()
        self.card_view.cleanup()

    def reopen(self, _main_window: AnkiQt, notes: Sequence[NoteSource] = ()) -> None:
        """Opened again (the dialog manager brought it to the front): new notes replace the notes tab."""
        if notes:
            self.set_notes(notes)


def _run_title(sources: Sequence[Source]) -> str:
    first = sources[0].title or " ".join(sources[0].text.split())[:60]
    return f"{first} (+{len(sources) - 1} notes)" if len(sources) > 1 else first


def _deck(deck_id: int | None) -> DeckId | None:
    return DeckId(deck_id) if deck_id else None

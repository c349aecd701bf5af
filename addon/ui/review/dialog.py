"""The Review Cards window: notes selected in the Browser, reviewed by the agents with verdicts streaming in,
each suggestion read as a word diff or rendered, accepted, rejected, edited or asked for again with feedback,
and Apply in one undoable step that keeps every card's review history.

Its frame is the generate window's `RunWindow`: the verdicts go into the review session (journaled) whether
or not the window is still open; closing stops the run; a profile close waits for an apply in progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING

from anki.notes import NoteId
from anki.utils import ids2str
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

from ...pipeline.wording import count_of
from ...responsive import background_work, begin_background_work
from .. import REVIEW_DIALOG
from ..generate.bars import CheckAllRow, RunStatus, plain_label
from ..generate.dialog import USER_FILES
from ..generate.earlier_drafts import EarlierDrafts, Leftovers
from ..generate.notices import NoticeArea
from ..generate.runs import Outcome
from ..generate.table import RowsTable
from ..generate.window import RunWindow
from .field_maps import FieldMapDialog
from .rows import review_model
from .runs import ReviewDriver
from .suggestion import SuggestionPanel

if TYPE_CHECKING:
    from ...notes.apply_review import Applied
    from ...notes.field_map import FieldMap
    from ...notes.review_notes import NoteSnapshot
    from ...pipeline.models import ExistingNote, NoteCard
    from ...reviews import ReviewRow, ReviewSession

FIELDS_NOTICE = "fields"


class ReviewDialog(RunWindow):
    DIALOG = REVIEW_DIALOG
    GEOMETRY = "aicg_review"
    PIPELINE = ".pipeline.workflow.rereview"
    CANT_START = "The reviewer can't start"

    def __init__(self, main_window: AnkiQt, note_ids: Sequence[int] = ()) -> None:
        super().__init__(main_window, name="aicg_review_dialog", title="Review Cards with AI")
        self.session: ReviewSession | None = None
        self.applying = False
        self.field_dialog: FieldMapDialog | None = None
        self._note_ids: list[int] = list(note_ids)
        self._changed_rows: set[int] = set()
        self._build_ui()
        restoreGeom(self, self.GEOMETRY, default_size=(1200, 780))
        restoreSplitter(self.splitter, self.GEOMETRY)
        self._set_status("Loading the reviewer…")
        self._update_buttons()
        QTimer.singleShot(0, self.panel.start)  # a webview: the costly part of opening
        QTimer.singleShot(60, self._start_loading)

    # building

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.notices = NoticeArea()
        layout.addWidget(self.notices)
        top = QHBoxLayout()
        self.summary = plain_label()
        self.fields_button = QPushButton("Fields…")
        self.fields_button.setToolTip("Which fields are the question, answer and extra of each note type")
        self.drafts_button = QPushButton("Earlier Reviews")
        self.drafts_button.setToolTip("Reviews with notes not reviewed or suggestions not applied yet")
        self.drafts_menu = QMenu(self)
        self.drafts_button.setMenu(self.drafts_menu)
        self.drafts_menu.aboutToShow.connect(self._fill_drafts_menu)
        self.review_button = QPushButton("Review")
        self.review_button.setToolTip("Review the notes not reviewed yet (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the review; the verdicts so far stay")
        top.addWidget(self.summary, stretch=1)
        for button in (self.fields_button, self.drafts_button, self.review_button, self.stop_button):
            button.setAutoDefault(False)
            top.addWidget(button)
        layout.addLayout(top)
        self.run_status = RunStatus()
        self.progress = self.run_status.progress
        self.status_label = self.run_status.status_label
        self.usage_label = self.run_status.usage_label
        layout.addWidget(self.run_status)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.model = review_model()
        self.table = RowsTable(self.model)
        left_layout.addWidget(self.table)
        self.check_row = CheckAllRow(
            self.table,
            accept_all="Accept every suggestion (Space toggles the selected ones)",
            reject_all="Reject every suggestion",
        )
        self.count_label = self.check_row.count_label
        left_layout.addWidget(self.check_row)
        self.splitter.addWidget(left)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.panel = SuggestionPanel(self.mw)
        right_layout.addWidget(self.panel, stretch=1)
        again_row = QHBoxLayout()
        self.feedback_edit = QLineEdit()
        self.feedback_edit.setPlaceholderText(
            "Feedback for the selected notes: keep the code, one card only…"
        )
        self.again_button = QPushButton("Ask Again")
        self.again_button.setToolTip("Review the selected notes again with this feedback (Enter)")
        self.again_button.setAutoDefault(False)
        again_row.addWidget(self.feedback_edit, stretch=1)
        again_row.addWidget(self.again_button)
        right_layout.addLayout(again_row)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        layout.addWidget(self.splitter, stretch=1)

        bottom = QHBoxLayout()
        self.suspend_box = QCheckBox("Suspend the notes that are split")
        self.suspend_box.setToolTip(
            "A split note is kept and tagged ai-review::split; suspended, it is no longer shown"
        )
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip(
            "Apply the accepted suggestions in one step (Ctrl+Shift+Enter); Edit → Undo reverts it"
        )
        bottom.addWidget(self.suspend_box)
        bottom.addStretch()
        bottom.addWidget(self.apply_button)
        layout.addLayout(bottom)

        self.fields_button.clicked.connect(lambda: self._ask_fields(force=True))
        self.review_button.clicked.connect(self._on_review)
        self.stop_button.clicked.connect(self._on_stop)
        self.again_button.clicked.connect(self._on_ask_again)
        self.feedback_edit.returnPressed.connect(self._on_ask_again)
        self.apply_button.clicked.connect(self._on_apply)
        self.model.checked_changed.connect(self._on_checked_changed)
        self.table.current_row_changed.connect(self._show_row)
        self.panel.edited.connect(self._on_edited)
        QShortcut(QKeySequence("Ctrl+Return"), self, self._on_review)
        QShortcut(QKeySequence("Ctrl+Shift+Return"), self, self._on_apply)

    def _update_buttons(self) -> None:
        ready, running = self.pipeline_state == "ready", self.run_state == "running"
        run = self.session.run if self.session is not None else None
        left = len(run.unreviewed()) if run else 0
        self.review_button.setEnabled(ready and not running and left > 0)
        self.review_button.setText(f"Review {left} note{'s' if left != 1 else ''}" if left else "Review")
        self.stop_button.setEnabled(running)
        self.fields_button.setEnabled(ready and not running and bool(self._note_ids))
        self.again_button.setEnabled(ready and not running and bool(self.table.selected_rows()))
        to_apply = len(run.to_apply()) if run else 0
        self.apply_button.setEnabled(to_apply > 0 and not running and not self.applying)
        self.apply_button.setText(f"Apply {to_apply}" if to_apply else "Apply")
        if run is not None:
            changes = sum(1 for row in run.rows if row.suggests_change and not row.done)
            self.count_label.setText(f"{to_apply} of {count_of(changes, 'suggestion')} accepted")

    # loading

    def _pipeline_ready(self) -> None:
        from ...reviews import reviews_journal

        self.journal = reviews_journal(USER_FILES)
        self.earlier = EarlierDrafts(
            self.journal,
            self.notices,
            self.open_review,
            lambda: self.session.id if self.session else None,
            Leftovers(
                pending=lambda run: run.pending(),
                title=lambda run: run.title,
                noun="note",
                state="not reviewed or applied yet",
                none="No unfinished reviews",
            ),
        )
        if self._note_ids:
            self._ask_fields()
        else:
            self._set_status("Select notes in the Browser, then Review selected cards with AI…")
            self.earlier.offer()

    def set_notes(self, note_ids: Sequence[int]) -> None:
        """Review these notes (the Browser's selection) in a new session, once the pipeline is loaded."""
        if self.run_state == "running" or self.applying:
            tooltip("Stop the review in progress first.", parent=self)
            return
        self._note_ids = list(note_ids)
        if self.pipeline_state == "ready":
            self._ask_fields()

    def _ask_fields(self, force: bool = False) -> None:
        """The field mappings of the notes' note types; the learner confirms those never confirmed (or all,
        with `force`) before the notes are read."""
        from ...notes.field_map import UnsupportedNotetype, field_map

        col = self.mw.col
        counts: dict[int, int] = {}
        assert col.db is not None
        for mid, count in col.db.all(
            f"select mid, count() from notes where id in {ids2str(self._note_ids)} group by mid"
        ):
            counts[mid] = count
        maps: list[FieldMap] = []
        skipped = []
        for mid in counts:
            try:
                maps.append(field_map(col, mid))
            except UnsupportedNotetype as error:
                skipped.append(str(error))
        if skipped:
            self.notices.show_notice("unsupported", "Left out: " + "; ".join(skipped) + ".")
        if not maps:
            self._set_status("None of the selected notes can be reviewed.")
            return
        if force or not all(mapping.saved for mapping in maps):
            self.field_dialog = FieldMapDialog(self, maps, counts, self._fields_chosen)
            self.field_dialog.rejected.connect(self._fields_declined)
            self.field_dialog.show()
        else:
            self._read_notes(maps)

    def _fields_chosen(self, maps: list[FieldMap]) -> None:
        from ...notes.field_map import save_field_maps

        self.field_dialog = None
        if not self._alive():
            return
        save_field_maps(self.mw.col, maps)
        self.notices.hide_notice(FIELDS_NOTICE)
        self._read_notes(maps)

    def _fields_declined(self) -> None:
        self.field_dialog = None
        if self._alive() and self.session is None:
            self.notices.show_notice(
                FIELDS_NOTICE,
                "Choose which fields to review first.",
                [("Fields…", lambda: self._ask_fields(force=True))],
            )

    def _read_notes(self, maps: Sequence[FieldMap]) -> None:
        from ...notes.review_notes import read_notes

        by_type = {mapping.notetype_id: mapping for mapping in maps}
        note_ids = [NoteId(note_id) for note_id in self._note_ids]
        self._set_status(f"Reading {count_of(len(note_ids), 'note')}…")
        (
            QueryOp(
                parent=self.mw, op=lambda col: read_notes(col, note_ids, by_type), success=self._notes_read
            )
            .failure(self._notes_not_read)
            .run_in_background()
        )

    def _notes_not_read(self, error: Exception) -> None:
        if self._alive():
            self._set_status(f"The notes could not be read: {error}")

    def _notes_read(self, notes: list[NoteSnapshot]) -> None:
        from ...config import SettingsError, load_settings
        from ...reviews import ReviewSession

        if not self._alive() or self.journal is None:
            return
        if not notes:
            self._set_status("The selected notes have nothing in the chosen fields.")
            return
        try:
            math = load_settings(self.mw).math
        except SettingsError:
            math = "source"
        self._show_session(ReviewSession.new(self.journal, notes, math))
        types = len({note.notetype_id for note in notes})
        self.summary.setText(f"{count_of(len(notes), 'note')} of {count_of(types, 'note type')}")
        self._set_status(
            f"{count_of(len(notes), 'note')} ready. Review (Ctrl+Enter) asks the agents for suggestions."
        )
        if self.earlier is not None:
            self.earlier.offer()

    # earlier reviews

    def open_review(self, entry_id: str) -> None:
        """Open a journaled review run (resume it)."""
        from ...reviews import ReviewSession

        entry = self._journal_entry(entry_id)
        if entry is None or self.journal is None:
            return
        session = ReviewSession.resume(self.journal, entry)
        self._note_ids = [row.note.note_id for row in session.run.rows]
        self._show_session(session)
        self.summary.setText(session.run.title)
        left = len(session.run.unreviewed())
        self._set_status(
            session.run.message or f"{count_of(left, 'note')} still to review." if left else "Reviewed."
        )

    # reviewing

    def _on_review(self) -> None:
        """Review the notes not reviewed yet. Their fields become Markdown in a background thread first (a
        few hundred notes take a noticeable fraction of a second)."""
        from ...reviews import existing_note

        if self.session is None or self.run_state == "running" or self.pipeline_state != "ready":
            return
        rows = self.session.run.unreviewed()
        if not rows or (settings := self._settings()) is None:
            return
        snapshots = [row.note for row in rows]
        self.run_state = "running"  # no second start meanwhile
        self._update_buttons()

        def start(future: Future[list[ExistingNote]]) -> None:
            if not self._alive():
                return
            self.run_state = "idle"
            if (error := future.exception()) is not None:
                self._set_status(f"The notes could not be read: {error}")
                self._update_buttons()
                return
            notes = future.result()
            self._start(
                lambda driver: driver.review(notes, settings),
                f"Reviewing {count_of(len(notes), 'note')}…",
                len(notes),
            )

        def convert() -> list[ExistingNote]:
            with background_work():  # the GIL goes back to the main thread often meanwhile
                return [existing_note(note) for note in snapshots]

        self.mw.taskman.run_in_background(convert, start)

    def _on_ask_again(self) -> None:
        from ...notes.field_map import field_map
        from ...notes.review_notes import snapshot_of
        from ...reviews import existing_note

        if self.session is None or self.run_state == "running" or self.pipeline_state != "ready":
            return
        chosen = [self.model.row(number) for number in self.table.selected_rows()]
        chosen = [row for row in chosen if not row.done]
        feedback = " ".join(self.feedback_edit.text().split())
        if not chosen:
            self._set_status("Select the notes to review again.")
            return
        if not feedback:
            self._set_status("Say what to change, e.g. “keep the code example” or “one card only”.")
            self.feedback_edit.setFocus()
            return
        if (settings := self._settings()) is None:
            return
        self.panel.editor.flush()
        col = self.mw.col
        for row in chosen:  # the note as it is now: an edit made meanwhile is what gets reviewed
            try:
                note = col.get_note(NoteId(row.note.note_id))
                row.note = snapshot_of(col, note, field_map(col, note.mid))
            except Exception:  # deleted or unmappable now: Apply will say so
                continue
        notes = [existing_note(row.note) for row in chosen]
        self._start(
            lambda driver: driver.review(notes, settings, feedback),
            f"Reviewing {len(notes)} note{'s' if len(notes) != 1 else ''} again: {feedback}…",
            len(notes),
        )

    def _start(self, begin: Callable[[ReviewDriver], None], status: str, total: int) -> None:
        assert self.session is not None
        self.session.run.status = "running"
        self.session.save()
        self.driver = ReviewDriver(self.mw, self.session, self)
        self.run_state = "running"
        self.run_status.started(total, "notes")
        self._set_status(status)
        self._update_buttons()
        begin(self.driver)

    def _on_stop(self) -> None:
        if self.driver is not None and self.driver.running:
            self.driver.cancel()
            self.stop_button.setEnabled(False)
            self._set_status("Stopping…")

    # ReviewListener: called on the main thread while the window is open

    def run_rows_changed(self, rows: Sequence[int]) -> None:
        if self._alive():
            self._changed_rows.update(rows)
            self._schedule_update()

    def _apply_updates(self) -> None:
        self._update_timer.stop()
        if not self._alive():
            return
        changed, self._changed_rows = self._changed_rows, set()
        for number in sorted(changed):
            self.model.row_changed(number)
        current = self.table.currentIndex().row()
        if current in changed:
            self._show_row(current)
        elif current < 0 and changed:
            self.table.select_row(min(changed))
        event, self._progress_event = self._progress_event, None
        if event is not None:
            self.run_status.advanced(event.topics_done, event.topics_total, "notes", event.usage.describe())
            if self.stop_button.isEnabled():
                self._set_status(event.message)
        if changed:
            self._update_buttons()

    def run_finished(self, outcome: Outcome) -> None:
        if not self._alive():
            return
        self._apply_updates()
        self.run_state = "idle" if outcome.ok else "failed"
        self.progress.setValue(self.progress.maximum() if outcome.ok else self.progress.value())
        self._set_status(outcome.message)
        self.model.refresh()
        self._update_buttons()

    # the rows

    def _show_session(self, session: ReviewSession) -> None:
        self.session = session
        with QSignalBlocker(self.table):
            self.model.set_rows(session.run.rows)
        self.table.select_row(0)
        self._show_row(self.table.currentIndex().row())
        self._update_buttons()

    def _current(self) -> ReviewRow | None:
        row = self.table.currentIndex().row()
        return self.model.row(row) if 0 <= row < self.model.rowCount() else None

    def _show_row(self, _number: int) -> None:
        if self._alive():
            self.panel.show_row(self._current(), self.session.run if self.session else None)
            self._update_buttons()

    def _on_edited(self, cards: list[NoteCard]) -> None:
        row = self._current()
        if row is None or self.session is None or row.done or row.verdict is None:
            return
        row.edits = cards
        row.accepted = True
        self.session.save()
        self.model.row_changed(self.table.currentIndex().row())
        self._update_buttons()

    def _on_checked_changed(self) -> None:
        if self.session is not None and self._alive():
            self.session.save()
            self._update_buttons()

    # applying

    def _on_apply(self) -> None:
        from ...reviews import change_of
        from ..operations import apply_review_op

        if self.session is None or self.applying or self.run_state == "running":
            return
        self.panel.editor.flush()
        session = self.session
        run = session.run
        changes = [
            change for row in run.to_apply() if (change := change_of(row, run.markup(row))) is not None
        ]
        if not changes:
            return
        self.applying = True
        self._update_buttons()
        begin_background_work()
        (
            apply_review_op(parent=self.mw, changes=changes, suspend_split=self.suspend_box.isChecked())
            .success(lambda applied: self._on_applied(session, applied))
            .failure(self._on_apply_failed)
            .run_in_background()
        )

    def _on_applied(self, session: ReviewSession, applied: Applied) -> None:
        """Mark the rows applied or refused, in the journal too, even if the window closed meanwhile."""
        session.run.mark_applied(applied)
        session.save()
        self._apply_finished()
        count = len(applied.applied)
        message = f"Applied {count} suggestion{'s' if count != 1 else ''}."
        if applied.refused:
            message += f" {len(applied.refused)} left alone: " + " ".join(applied.refused.values())
        tooltip(message.split(" left alone")[0], parent=self.mw)
        if self._alive():
            self._set_status(message + (" Edit → Undo reverts it." if count else ""))
            self.model.refresh()
            self.panel.refresh()
            self._update_buttons()

    def _on_apply_failed(self, error: Exception) -> None:
        """Applying is all or nothing: the suggestions stay here to try again."""
        self._apply_finished()
        self._set_status(f"Nothing was changed: {error}")

    def _apply_finished(self) -> None:
        self.applying = False
        self._update_buttons()
        self._op_finished()

    # closing

    def _op_in_progress(self) -> bool:
        return self.applying

    def _before_close(self) -> None:
        self.panel.editor.flush()
        if self.field_dialog is not None:
            self.field_dialog.close()

    def _cleanup(self) -> None:
        self.panel.cleanup()
        if self.session is not None:
            self.session.save()  # verdicts since the driver's last save

    def reopen(self, _main_window: AnkiQt, note_ids: Sequence[int] = ()) -> None:
        """Opened again from the Browser: the new selection replaces the notes shown."""
        if note_ids:
            self.set_notes(note_ids)

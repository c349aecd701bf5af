"""Tools → Generate Cards…: paste text, generate cards in the background, pick some, add them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aqt
from aqt.deckchooser import DeckChooser
from aqt.main import AnkiQt
from aqt.operations import QueryOp
from aqt.qt import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    qconnect,
)
from aqt.utils import restoreGeom, saveGeom, tooltip

from ..loader import load_pipeline
from . import GENERATE_DIALOG
from .setup_notice import SetupNotice

if TYPE_CHECKING:
    from ..notes.insert import AddResult
    from ..pipeline.models import Card, RunResult
    from ..pipeline.workflow.runner import PipelineRun

GEOMETRY_KEY = "aicg_generate"
DRAFT_FILE = Path(__file__).parents[1] / "user_files" / "draft.txt"

PipelineState = Literal["loading", "ready", "failed"]
RunState = Literal["idle", "running", "failed"]


class GenerateDialog(QDialog):
    def __init__(self, main_window: AnkiQt) -> None:
        super().__init__(main_window)
        self.mw = main_window
        self.setObjectName("aicg_generate_dialog")
        self.setWindowTitle("Generate Cards")
        self.pipeline_state: PipelineState = "loading"
        self.run_state: RunState = "idle"
        self.cards: list[Card] = []
        self._run: PipelineRun | None = None
        self._closed = False
        self._build_ui()
        main_window.garbage_collect_on_dialog_finish(self)
        restoreGeom(self, GEOMETRY_KEY, default_size=(700, 640))
        self.set_source_text(DRAFT_FILE.read_text(encoding="utf-8") if DRAFT_FILE.exists() else "")
        self._set_status("Loading the card generator…")
        self._update_buttons()
        (
            QueryOp(parent=self, op=lambda _col: load_pipeline(), success=self._on_pipeline_loaded)
            .without_collection()
            .failure(self._on_pipeline_failed)
            .run_in_background()
        )

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.setup_notice = SetupNotice(self.mw, self)
        layout.addWidget(self.setup_notice)
        self.source_edit = QPlainTextEdit()
        self.source_edit.setPlaceholderText("Paste the text you want to learn from…")
        layout.addWidget(self.source_edit, stretch=2)
        deck_row = QWidget()
        self.deck_chooser = DeckChooser(self.mw, deck_row)
        layout.addWidget(deck_row)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # it shows model output
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status_label)
        self.card_list = QListWidget()
        qconnect(self.card_list.itemChanged, lambda _item: self._update_buttons())
        layout.addWidget(self.card_list, stretch=3)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.generate_button = QPushButton("Generate")
        self.cancel_button = QPushButton("Stop")
        self.insert_button = QPushButton("Add cards")
        for button in (self.generate_button, self.cancel_button, self.insert_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        qconnect(self.generate_button.clicked, self._on_generate)
        qconnect(self.cancel_button.clicked, self._on_cancel)
        qconnect(self.insert_button.clicked, self._on_insert)
        qconnect(buttons.rejected, self.reject)
        layout.addWidget(buttons)

    # state shown to the learner

    def set_source_text(self, text: str) -> None:
        self.source_edit.setPlainText(text)

    def status_text(self) -> str:
        return self.status_label.text()

    def _set_status(self, text: str) -> None:
        if self._closed:  # a background result arriving after the dialog closed
            return
        self.status_label.setText(text)

    def _update_buttons(self) -> None:
        if self._closed:
            return
        running = self.run_state == "running"
        self.generate_button.setEnabled(self.pipeline_state == "ready" and not running)
        self.cancel_button.setEnabled(running)
        self.insert_button.setEnabled(not running and bool(self._checked_cards()))

    # loading

    def _on_pipeline_loaded(self, _pipeline: Any) -> None:
        self.pipeline_state = "ready"
        self.setup_notice.refresh()
        self._set_status("Ready.")
        self._update_buttons()

    def _on_pipeline_failed(self, error: Exception) -> None:
        self.pipeline_state = "failed"
        self._set_status(f"The card generator can't start: {error}")
        self._update_buttons()

    # generating

    def _on_generate(self) -> None:
        from ..config import SettingsError, load_settings
        from ..pipeline.errors import PipelineError
        from ..pipeline.models import Source
        from ..pipeline.workflow.runner import PipelineRun

        text = self.source_edit.toPlainText().strip()
        if not text:
            self._set_status("Paste some text first.")
            return
        try:
            settings = load_settings(self.mw)
        except SettingsError as error:
            self._set_status(f"Please fix the add-on's settings (Tools → Add-ons → Config): {error}")
            return
        self._run = PipelineRun([Source(text=text)], settings, on_event=self._on_event_from_worker)
        self.run_state = "running"
        self._set_status("Generating…")
        self._update_buttons()
        run = self._run

        def work(_col: object) -> RunResult:
            run.start()
            return run.result()

        def failed(error: Exception) -> None:
            message = str(error) if isinstance(error, PipelineError) else f"Unexpected error: {error!r}"
            self._finish_run("failed", message)

        (
            QueryOp(parent=self, op=work, success=self._on_result)
            .without_collection()
            .failure(failed)
            .run_in_background()
        )

    def _on_event_from_worker(self, event: object) -> None:
        message = str(getattr(event, "message", "") or "")
        if message:
            self.mw.taskman.run_on_main(lambda: self._on_progress(message))

    def _on_progress(self, message: str) -> None:
        if self.run_state == "running":
            self._set_status(message)

    def _on_cancel(self) -> None:
        if self._run is not None:
            self._run.cancel()
            self._set_status("Stopping…")

    def _on_result(self, result: RunResult) -> None:
        if self._closed:
            return
        self.cards = result.cards
        self._show_cards()
        problems = "; ".join(error.message for error in result.errors)
        if not result.cards:
            self._finish_run("failed", problems or "No cards came back. Try a longer text.")
            return
        summary = f"{len(result.cards)} cards ready" + (" (stopped early)" if result.cancelled else "")
        self._finish_run("idle", f"{summary} ({result.usage.describe()}). {problems}".strip())

    def _finish_run(self, state: RunState, message: str) -> None:
        self.run_state = state
        self._run = None
        self._set_status(message)
        self._update_buttons()

    def _show_cards(self) -> None:
        self.card_list.clear()
        for card in self.cards:
            front = card.draft.question if card.draft.kind == "basic" else card.draft.text
            warnings = [finding.message for finding in card.lints]
            item = QListWidgetItem(("⚠ " if warnings else "") + front)
            item.setToolTip("\n".join(warnings))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.card_list.addItem(item)

    def _checked_cards(self) -> list[Card]:
        return [
            card
            for row, card in enumerate(self.cards)
            if (item := self.card_list.item(row)) is not None and item.checkState() == Qt.CheckState.Checked
        ]

    # inserting

    def _on_insert(self) -> None:
        from ..config import default_tags
        from .operations import add_cards_op

        cards = self._checked_cards()
        self.insert_button.setEnabled(False)  # one batch at a time
        (
            add_cards_op(
                parent=self,
                cards=cards,
                deck_id=self.deck_chooser.selected_deck_id,
                tags=default_tags(self.mw),
            )
            .success(self._on_inserted)
            .failure(self._on_insert_failed)
            .run_in_background()
        )

    def _on_inserted(self, result: AddResult) -> None:
        tooltip(f"Added {result.added} cards; skipped {result.skipped} duplicates.", parent=self.mw)
        self.cards = []
        self.card_list.clear()
        self._update_buttons()

    def _on_insert_failed(self, error: Exception) -> None:
        """Adding is all or nothing: the cards stay here to try again."""
        self._set_status(f"No cards were added: {error}")
        self._update_buttons()

    # closing

    def reject(self) -> None:
        self._closed = True
        if self._run is not None:
            self._run.cancel()
        DRAFT_FILE.parent.mkdir(exist_ok=True)
        DRAFT_FILE.write_text(self.source_edit.toPlainText(), encoding="utf-8")
        saveGeom(self, GEOMETRY_KEY)
        self.deck_chooser.cleanup()
        aqt.dialogs.markClosed(GENERATE_DIALOG)
        super().reject()

    def closeWithCallback(self, callback: Callable[[], None]) -> None:
        """Called by Anki's dialog manager when the profile closes."""
        self.reject()
        callback()

    def reopen(self, _main_window: AnkiQt) -> None:
        """Opening it again brings this window to the front (the dialog manager does that)."""

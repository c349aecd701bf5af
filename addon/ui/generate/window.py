"""`RunWindow`: the frame the generate and review windows share. The pipeline loads in a background thread
after the window is shown; runs report to it through `run_progress`, which it catches up with at most every
`UPDATE_MS`; a status line; settings read with a plain message when they can't be used; earlier runs from a
journal; a collection operation that the profile's closing waits for; and closing that stops the run and
keeps what must be kept.

Lifecycle rules, because runs and collection operations finish in the background: every callback checks
`_alive()`, and what a run makes goes into its journaled session whether or not the window is still open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal

import aqt
from aqt.main import AnkiQt
from aqt.qt import QDialog, QLabel, QMenu, QSplitter, Qt, QTimer
from aqt.utils import saveGeom, saveSplitter
from PyQt6 import sip

from ...loader import load_module
from ...responsive import end_background_work
from .earlier_drafts import NOTICE, EarlierDrafts
from .notices import NoticeArea

if TYPE_CHECKING:
    from ...journal import Journal, JournalEntry
    from ...pipeline.settings import PipelineSettings
    from ...pipeline.workflow.events import ProgressEvent
    from .runs import JobRunner

UPDATE_MS = 80
"""How often at most the window catches up with a run's events."""
STOP_WAIT_MS = 5000
"""How long closing the profile waits at most for a run to stop and hand over what it made."""

PipelineState = Literal["loading", "ready", "failed"]
RunState = Literal["idle", "running", "failed"]


class RunWindow(QDialog):
    DIALOG = ""
    """The window's name in Anki's dialog manager."""
    GEOMETRY = ""
    """The key its size and splitter are remembered under."""
    PIPELINE = ".pipeline.workflow.runner"
    """The module whose loading makes the window ready."""
    CANT_START = "The card generator can't start"

    notices: NoticeArea
    splitter: QSplitter
    status_label: QLabel
    drafts_menu: QMenu

    def __init__(self, main_window: AnkiQt, *, name: str, title: str) -> None:
        super().__init__(main_window, Qt.WindowType.Window)
        self.mw = main_window
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.pipeline_state: PipelineState = "loading"
        self.run_state: RunState = "idle"
        self.driver: JobRunner[Any, Any] | None = None
        self.journal: Journal[Any] | None = None
        self.earlier: EarlierDrafts | None = None
        self._closed = False
        self._after_op: list[Callable[[], None]] = []
        self._progress_event: ProgressEvent | None = None
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.timeout.connect(self._apply_updates)
        main_window.garbage_collect_on_dialog_finish(self)

    # what subclasses give

    def _pipeline_ready(self) -> None:
        """The libraries loaded: open the journal, offer earlier runs, enable the buttons."""

    def _update_buttons(self) -> None:
        raise NotImplementedError

    def _apply_updates(self) -> None:
        """Catch up with the run's events since the last time (`_progress_event` is the latest)."""
        raise NotImplementedError

    def _settings_refused(self) -> None:
        """The settings can't be used: the status says why; show more if the window can."""

    def _op_in_progress(self) -> bool:
        """Whether a collection operation this window started is still running."""
        return False

    def _before_close(self) -> None:
        """Keep what must survive the window (before the run is stopped)."""

    def _cleanup(self) -> None:
        """Release what the window holds (webviews) once it is closing."""

    # status

    def status_text(self) -> str:
        return self.status_label.text()

    def _set_status(self, text: str) -> None:
        if self._alive():
            self.status_label.setText(text)

    def _alive(self) -> bool:
        return not self._closed and not sip.isdeleted(self)

    # loading

    def _start_loading(self) -> None:
        if self._alive():
            self.mw.taskman.run_in_background(
                lambda: load_module(self.PIPELINE), self._on_pipeline_loaded, uses_collection=False
            )

    def _on_pipeline_loaded(self, future: Future[Any]) -> None:
        if not self._alive():
            return
        if (error := future.exception()) is not None:
            self.pipeline_state = "failed"
            self._set_status(f"{self.CANT_START}: {error}")
            self._update_buttons()
            return
        self.pipeline_state = "ready"
        self._pipeline_ready()
        self._update_buttons()

    def _settings(self) -> PipelineSettings | None:
        """The pipeline's settings, or None when they can't be used (the status says why)."""
        from ...config import SettingsError, load_settings

        try:
            return load_settings(self.mw)
        except SettingsError as error:
            self._set_status(f"Please fix the add-on's settings (Tools → Add-ons → Config): {error}")
            self._settings_refused()
            return None

    # earlier runs

    def _fill_drafts_menu(self) -> None:
        if self.earlier is not None:
            self.earlier.fill_menu(self.drafts_menu)

    def _journal_entry(self, entry_id: str) -> JournalEntry[Any] | None:
        """The journaled run to open, unless a run is going on."""
        if self.journal is None or self.run_state == "running":
            return None
        entry = next((e for e in self.journal.load()[0] if e.id == entry_id), None)
        if entry is not None:
            self.notices.hide_notice(NOTICE)
        return entry

    # runs: called on the main thread while the window is open

    def run_progress(self, event: ProgressEvent) -> None:
        if self._alive():
            self._progress_event = event
            self._schedule_update()

    def _schedule_update(self) -> None:
        """Events come in bursts: the window catches up with them at most every `UPDATE_MS`, in one go."""
        if not self._update_timer.isActive():
            self._update_timer.start(UPDATE_MS)

    # collection operations

    def _op_finished(self) -> None:
        """A collection operation ended (see `closeWithCallback`)."""
        end_background_work()
        callbacks, self._after_op = self._after_op, []
        for callback in callbacks:
            callback()

    # closing

    def reject(self) -> None:
        if self._closed:
            return
        try:
            self._before_close()
            self._closed = True
            if self.driver is not None:
                self.driver.listener = None
                self.driver.cancel()
            saveGeom(self, self.GEOMETRY)
            saveSplitter(self.splitter, self.GEOMETRY)
        finally:
            self._closed = True
            self._cleanup()
            if self.journal is not None:
                self.journal.flush(timeout=2.0)
            aqt.dialogs.markClosed(self.DIALOG)
            super().reject()

    def closeWithCallback(self, callback: Callable[[], None]) -> None:
        """Called by Anki's dialog manager when the profile closes (switching profile, quitting): an operation
        under way finishes first, and a run stops and hands over what it made to the journal first (a
        generation formats its unreviewed cards without the LLM: a second or so; `STOP_WAIT_MS` at most)."""
        self.reject()
        deadline = time.monotonic() + STOP_WAIT_MS / 1000
        called = False

        def proceed() -> None:
            nonlocal called
            running = self.driver is not None and self.driver.running and time.monotonic() < deadline
            if not called and not self._op_in_progress() and not running:
                called = True
                if self.journal is not None:
                    self.journal.flush(timeout=2.0)  # on disk before Anki may exit
                callback()

        self._after_op.append(proceed)
        if self.driver is not None:
            self.driver.when_idle(proceed)
        QTimer.singleShot(STOP_WAIT_MS, proceed)
        proceed()

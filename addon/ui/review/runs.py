"""Review runs for a review session, in the pipeline's own thread (the generate window's `JobRunner`): the
verdicts of each finished batch go into the session, which journals them, whether or not the window is
still open, and the window hears of them through `ReviewListener`.

Journaling a run means serializing all of it on the main thread (about 15 ms for 200 notes), so while
verdicts stream in it is saved at most every `SAVE_MS`, and at once when the run ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from aqt.main import AnkiQt
from aqt.qt import QTimer

from ...pipeline.wording import count_of
from ..generate.runs import JobRunner, Outcome, one_line

SAVE_MS = 1000

if TYPE_CHECKING:
    from ...pipeline.models import ExistingNote, ReviewResult
    from ...pipeline.settings import PipelineSettings
    from ...pipeline.workflow.events import ProgressEvent
    from ...reviews import ReviewSession


class ReviewListener(Protocol):
    def run_progress(self, event: ProgressEvent) -> None: ...

    def run_rows_changed(self, rows: Sequence[int]) -> None: ...

    def run_finished(self, outcome: Outcome) -> None: ...


class ReviewDriver(JobRunner["ReviewResult", "ProgressEvent"]):
    def __init__(self, mw: AnkiQt, session: ReviewSession, listener: ReviewListener | None) -> None:
        super().__init__(mw)
        self.session = session
        self.listener = listener
        self._feedback = ""
        self._save_timer = QTimer()
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_MS)
        self._save_timer.timeout.connect(session.save)

    def review(self, notes: Sequence[ExistingNote], settings: PipelineSettings, feedback: str = "") -> None:
        """Review these notes (again, with the learner's `feedback`, if given)."""
        from ...pipeline.workflow.rereview import ReviewJob

        self._feedback = feedback
        done = self._done(self._reviewed)
        self._start(lambda: ReviewJob(notes, settings, feedback=feedback, on_event=self._event, on_done=done))

    # main thread

    def _on_event(self, event: ProgressEvent) -> None:
        from ...pipeline.workflow.review_events import VerdictsReady

        if isinstance(event, VerdictsReady):
            rows = self.session.run.put(event.verdicts, replace_edited=bool(self._feedback))
            if rows and not self._save_timer.isActive():
                self._save_timer.start()
            if rows and self.listener is not None:
                self.listener.run_rows_changed(rows)
        if self.listener is not None:
            self.listener.run_progress(event)

    def _reviewed(self, result: ReviewResult) -> Outcome:
        """The run is over; its verdicts all came as `VerdictsReady` events before this."""
        self._save_timer.stop()
        run = self.session.run
        changes = sum(1 for verdict in result.verdicts if verdict.action != "keep")
        left = len(run.unreviewed())
        usage, problems = result.usage.describe(), "; ".join(error.message for error in result.errors)
        if result.cancelled:
            run.status = "stopped"
            run.message = f"Stopped; {count_of(left, 'note')} not reviewed yet (Review goes on with them)."
        elif result.verdicts:
            run.status = "finished" if not left else "stopped"
            reviewed, suggested = count_of(len(result.verdicts), "note"), count_of(changes, "suggestion")
            done = f"{reviewed} reviewed: {suggested} ({usage})."
            run.message = f"{done} {problems}".strip()
        else:
            run.status = "failed"
            run.message = problems or "No verdicts came back."
        self.session.save()
        return Outcome(bool(result.verdicts) or result.cancelled, run.message, len(result.verdicts))

    def _failed(self, error: BaseException) -> Outcome:
        """A bug in the pipeline: the verdicts that streamed in stay; say what happened, in one line."""
        self._save_timer.stop()
        self.session.run.status = "failed"
        self.session.run.message = (
            f"The review stopped on an unexpected error ({one_line(error)}); its verdicts stay."
        )
        self.session.save()
        return Outcome(False, self.session.run.message, 0)

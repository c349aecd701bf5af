"""The re-review route's events: progress for the review window, and the typed hops between its steps.

Progress events are what `ReviewJob(on_event=...)` receives; `str(event)` is a one-line status message.
`VerdictsReady` carries each batch's finished verdicts.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from workflows.events import Event, StartEvent

from ..models import ExistingNote, Usage, Verdict

# Progress


class ReviewProgress(Event):
    """Something happened in a review: which role, for which notes, and the run's totals so far."""

    role: str
    notes: str = ""
    """Which notes, e.g. "notes 11–20"."""
    reviewed: int = 0
    total: int = 0
    usage: Usage = Field(default_factory=Usage)

    @property
    def message(self) -> str:
        where = f"{self.role}: {self.notes}" if self.notes else self.role
        totals = f"{self.reviewed} of {self.total} notes reviewed, {self.usage.requests} requests so far"
        return f"{where} {self._verb()} ({totals})"

    def __str__(self) -> str:
        return self.message

    def _verb(self) -> str:
        return "…"


class ReviewStepStarted(ReviewProgress):
    def _verb(self) -> str:
        return "working…"


class ReviewStepFinished(ReviewProgress):
    error: str | None = None

    def _verb(self) -> str:
        return f"failed: {self.error}" if self.error else "done"


class VerdictsReady(ReviewProgress):
    """A batch's verdicts are finished (formatted): they are in the result whatever happens next."""

    batch: int
    verdicts: list[Verdict]

    def _verb(self) -> str:
        return f"{len(self.verdicts)} verdicts ready"


# What a review is asked to do, and its work items


class ReviewStart(StartEvent):
    notes: list[ExistingNote]
    feedback: str = ""
    """The learner's feedback, when notes are reviewed again ("ask again")."""


class ReviewBatch(BaseModel):
    """Notes reviewed in one Reviewer request, with the texts they were made from (each sent once)."""

    index: int
    first: int
    """The number (from 1) of the batch's first note in the run."""
    notes: list[ExistingNote]
    sources: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        last = self.first + len(self.notes) - 1
        return f"note {self.first}" if last == self.first else f"notes {self.first}–{last}"


class BatchEvent(Event):
    batch: ReviewBatch


class VerdictsEvent(BatchEvent):
    verdicts: list[Verdict]
    """One per note; the suggested cards not formatted yet."""


class EnrichVerdicts(VerdictsEvent):
    """Verdicts with cards the Code and Extra Field Expert should see."""


class FormatVerdicts(VerdictsEvent):
    pass


class BatchDone(BatchEvent):
    pass

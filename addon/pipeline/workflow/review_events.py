"""The re-review route's events: the typed hops between its steps, and `VerdictsReady` with each batch's
finished verdicts. Its progress comes as the generation's `StepStarted` and `StepFinished`, with
`topics_done` and `topics_total` counting notes reviewed; `str(event)` is a one-line status message."""

from __future__ import annotations

from pydantic import BaseModel, Field
from workflows.events import Event, StartEvent

from ..models import ExistingNote, ReviewVerdict
from ..wording import count_of
from .events import ProgressEvent

# Progress (the generation's step events report a review's steps too)


class VerdictsReady(ProgressEvent):
    """A batch's verdicts are finished (formatted): they are in the result whatever happens next."""

    batch: int
    verdicts: list[ReviewVerdict]

    def _verb(self) -> str:
        return f"{count_of(len(self.verdicts), 'verdict')} ready"


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
    verdicts: list[ReviewVerdict]
    """One per note; the suggested cards not formatted yet."""


class EnrichVerdicts(VerdictsEvent):
    """Verdicts with cards the Code and Extra Field Expert should see."""


class FormatVerdicts(VerdictsEvent):
    pass


class BatchDone(BatchEvent):
    pass

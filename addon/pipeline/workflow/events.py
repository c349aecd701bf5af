"""The workflows' events: progress for the UI and CLI, and the typed hops between steps.

Progress events are what `PipelineRun(on_event=...)` receives; `str(event)` is a one-line status message.
The step events' types are the routes: a step's parameter and return annotations say what it takes and
what may follow it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from workflows.events import Event, StartEvent

from ..models import AnalyzedTopic, Card, Source, TopicAnalysis, Usage
from ..wording import count_of
from .chunking import Chunk

# Progress


class ProgressEvent(Event):
    """Something happened in the run: which role, for which topics, and the run's totals so far.

    `topics_done` counts the topics of the batches finished so far, out of `topics_total` planned; the total
    is 0 until the topics are known (and in a regeneration).
    """

    role: str
    topic: str = ""
    cards_so_far: int = 0
    topics_done: int = 0
    topics_total: int = 0
    usage: Usage = Field(default_factory=Usage)
    counted: str = ""
    """What the run counts so far, when not cards (a review: notes reviewed)."""

    @property
    def message(self) -> str:
        where = f"{self.role}: {self.topic}" if self.topic else self.role
        counted = self.counted or count_of(self.cards_so_far, "card")
        return f"{where} {self._verb()} ({counted}, {count_of(self.usage.requests, 'request')} so far)"

    def __str__(self) -> str:
        return self.message

    def _verb(self) -> str:
        return "…"


class StepStarted(ProgressEvent):
    def _verb(self) -> str:
        return "working…"


class StepFinished(ProgressEvent):
    error: str | None = None

    def _verb(self) -> str:
        return f"failed: {self.error}" if self.error else "done"


class CardsChanged(ProgressEvent):
    """What the Reviewer, or the Q&A Generator on feedback, says it changed: one line per change.

    The lines are model output: show them as plain text.
    """

    changes: list[str]

    def _verb(self) -> str:
        return "changed: " + "; ".join(self.changes)


class CardsReady(ProgressEvent):
    """A batch's cards are finished (formatted): they are in the result whatever happens next.

    `batch` is the batch's key, (source index, batch index); the result lists the batches in that order. A
    batch can come again (the orchestrator may format a batch twice, and a run that stops formats its last
    batches without the LLM): the later cards replace the earlier ones.
    """

    batch: tuple[int, int]
    cards: list[Card]

    def _verb(self) -> str:
        return f"{count_of(len(self.cards), 'card')} ready"


# What a run is asked to do


class Regeneration(BaseModel):
    """Cards to make again with the learner's feedback; the run's one source is the text they came from."""

    cards: list[Card]
    feedback: str


class PipelineStart(StartEvent):
    sources: list[Source]
    regeneration: Regeneration | None = None


# Work


class PlannedTopic(BaseModel):
    """A topic of the plan, and the chunks of its source it was found in (the first one first)."""

    topic: AnalyzedTopic
    chunks: list[int] = Field(default_factory=list)
    order: int = 0
    """Its place in its source's plan, most important first."""

    @property
    def chunk(self) -> int | None:
        return self.chunks[0] if self.chunks else None


class Batch(BaseModel):
    """Topics of one source whose cards are written in one request and reviewed in another
    (workflow/batches.py), with everything the card agents need for them."""

    source_index: int
    index: int
    note_id: int | None = None
    topics: list[PlannedTopic]
    text: str
    """The source text for these topics: their chunks (or all of a short source)."""
    other_topics: list[str] = Field(default_factory=list)
    """The names of the source's topics in other batches."""
    language: str | None = None
    """Target language, else the source's as the Topic Analyzer found it."""

    @property
    def key(self) -> tuple[int, int]:
        return (self.source_index, self.index)

    @property
    def name(self) -> str:
        """The topics' names, for progress messages and errors."""
        return "; ".join(planned.topic.name for planned in self.topics)

    @property
    def code(self) -> bool:
        return any(planned.topic.code for planned in self.topics)

    @property
    def importance(self) -> int:
        return max(planned.topic.importance for planned in self.topics)


# Planned route


class ChunkEvent(Event):
    chunk: Chunk


class ChunkAnalyzed(Event):
    chunk: Chunk
    analysis: TopicAnalysis | None
    """None when the Topic Analyzer failed on this chunk (the error is recorded)."""


class BatchEvent(Event):
    batch: Batch


class ReviseEvent(Event):
    batch: Batch
    regeneration: Regeneration


class CardsEvent(Event):
    batch: Batch
    cards: list[Card]


class EnrichEvent(CardsEvent):
    """Drafts with cards the Code and Extra Field Expert should see."""


class ReviewEvent(CardsEvent):
    pass


class FormatEvent(CardsEvent):
    pass


class BatchDone(Event):
    batch: Batch


# Orchestrator route


class DecideEvent(Event):
    """Ask the Orchestrator for the next agent."""


class RunTopicAnalyzer(Event):
    pass


class RunQAGenerator(Event):
    pass


class RunCodeExpert(Event):
    pass


class RunReviewer(Event):
    pass


class RunFormatter(Event):
    pass

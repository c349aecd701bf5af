"""The planned route: a fixed graph, no LLM call spent deciding what comes next.

    begin ─▶ analyze (∥ chunks) ─▶ plan ─▶ generate (∥ batches) ─▶ [enrich, only batches about code]
          ─▶ review ─▶ format (+ repair of broken cards only) ─▶ finish
    begin ─▶ revise (regeneration: the selected cards with the learner's feedback) ─▶ review ─▶ …

The plan groups the topics into batches (batches.py). Each batch flows through on its own, so a batch is
reviewed while others are still being generated, and its cards are finished as soon as they are formatted.
Each stage records the cards it leaves as pending, so that a cancelled or timed-out run still returns them
(formatted without the LLM). A step that fails for one batch records a StepError and lets that batch's
cards go on without it (or ends the batch when there are none).
How many requests run at once is bounded by `Agents.slots` (`settings.max_concurrency`), which serves work
with more steps behind it first; the steps' worker counts are only an upper bound, fixed with the class.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

from workflows import Context, step
from workflows.events import StopEvent

from ..agents.team import Agents
from ..models import MAX_NAME, AnalyzedTopic
from ..roles import Role
from ..settings import PipelineSettings
from . import stages, topics
from .batches import batch_cards
from .chunking import Chunk, chunk_sources, chunk_text
from .events import (
    Batch,
    BatchDone,
    BatchEvent,
    ChunkAnalyzed,
    ChunkEvent,
    EnrichEvent,
    FormatEvent,
    PipelineStart,
    PlannedTopic,
    ReviewEvent,
    ReviseEvent,
)
from .formatter import format_batch
from .route import Route
from .state import RunRecord

WORKERS = 32


class PlannedWorkflow(Route):
    def __init__(self, settings: PipelineSettings, agents: Agents, record: RunRecord, **kwargs: Any) -> None:
        super().__init__(settings, agents, record, **kwargs)
        self._chunks: list[Chunk] = []
        self._start: PipelineStart | None = None

    @step
    async def begin(self, ev: PipelineStart) -> list[ChunkEvent] | ReviseEvent:
        self._start = ev
        if ev.regeneration is not None:
            return ReviseEvent(batch=self._regeneration_work(ev), regeneration=ev.regeneration)
        self._chunks = chunk_sources(ev.sources, self.settings.llm.context_window)
        return [ChunkEvent(chunk=chunk) for chunk in self._chunks]

    @step(num_workers=WORKERS)
    async def analyze(self, ctx: Context, ev: ChunkEvent) -> ChunkAnalyzed:
        chunk = ev.chunk
        analysis = await self.record.step(
            ctx, Role.TOPIC_ANALYZER, chunk.label, lambda: self.agents.analyze(chunk.text, part=chunk.part)
        )
        return ChunkAnalyzed(chunk=chunk, analysis=analysis)

    @step
    async def plan(self, analyzed: list[ChunkAnalyzed]) -> list[BatchEvent] | StopEvent:
        assert self._start is not None
        analyses = [(ev.chunk, ev.analysis) for ev in analyzed]
        settings = self.settings
        batches = topics.plan_topics(
            self._start.sources, self._chunks, analyses, settings.target_language, batch_cards(settings.llm)
        )
        self.record.outline = topics.outline_of(batches, analyses)
        if not batches:
            if not self.record.errors:
                self.record.fail(Role.TOPIC_ANALYZER, "No topics were found in the text.")
            return StopEvent(result=self.record.result())
        # Batches about code have one step more (the Code and Extra Field Expert): start them first, then the
        # most important, whose cards the later batches' Reviewers then see.
        order = sorted(batches, key=lambda batch: (not batch.code, -batch.importance))
        return [BatchEvent(batch=batch) for batch in order]

    @step(num_workers=WORKERS)
    async def generate(self, ctx: Context, ev: BatchEvent) -> EnrichEvent | ReviewEvent | BatchDone:
        batch = ev.batch
        cards = await self.record.step(
            ctx, Role.QA_GENERATOR, batch.name, lambda: stages.generate(self.agents, batch, self.written)
        )
        if not cards:
            self.record.finish(batch, [])
            return BatchDone(batch=batch)
        self.record.pending(batch, cards)
        if stages.needs_enrichment(batch):
            return EnrichEvent(batch=batch, cards=cards)
        return ReviewEvent(batch=batch, cards=cards)

    @step(num_workers=WORKERS)
    async def revise(self, ctx: Context, ev: ReviseEvent) -> list[ReviewEvent] | StopEvent:
        batch, wanted = ev.batch, ev.regeneration
        drafts = [card.draft for card in wanted.cards]
        # Each card's replacements name it, however the Reviewer splits them later.
        originals = [card.model_copy(update={"replaces": card.id}) for card in wanted.cards]
        revision = await self.record.step(
            ctx,
            Role.QA_GENERATOR,
            batch.name,
            lambda: self.agents.revise(
                stages.evidence(batch, drafts), drafts, wanted.feedback, language=batch.language
            ),
        )
        if revision is None:
            return StopEvent(result=self.record.result())
        self.record.changed(ctx, Role.QA_GENERATOR, batch.name, revision.changes)
        cards = stages.edited(originals, revision, Role.QA_GENERATOR)
        self.record.pending(batch, cards)
        return [ReviewEvent(batch=batch, cards=cards)]

    @step(num_workers=WORKERS)
    async def enrich(self, ctx: Context, ev: EnrichEvent) -> ReviewEvent:
        enriched = await self.record.step(
            ctx, Role.CODE_EXPERT, ev.batch.name, lambda: stages.enrich(self.agents, ev.batch, ev.cards)
        )
        if enriched:
            self.record.pending(ev.batch, enriched)
        return ReviewEvent(batch=ev.batch, cards=enriched or ev.cards)

    @step(num_workers=WORKERS)
    async def review(self, ctx: Context, ev: ReviewEvent) -> FormatEvent:
        reviewed = await self.record.step(
            ctx,
            Role.REVIEWER,
            ev.batch.name,
            lambda: stages.review(self.agents, ev.batch, ev.cards, self.written),
        )
        if reviewed is None:
            return FormatEvent(batch=ev.batch, cards=ev.cards)
        self.record.changed(ctx, Role.REVIEWER, ev.batch.name, reviewed.changes)
        self.record.pending(ev.batch, reviewed.cards)
        return FormatEvent(batch=ev.batch, cards=reviewed.cards)

    @step(num_workers=WORKERS)
    async def format(self, ctx: Context, ev: FormatEvent) -> BatchDone:
        formatted = await self.record.step(
            ctx,
            Role.FORMATTER,
            ev.batch.name,
            lambda: format_batch(self.agents, self.record, ev.batch, ev.cards),
        )
        if formatted is not None:
            self.record.changed(ctx, Role.FORMATTER, ev.batch.name, formatted.changes)
        return BatchDone(batch=ev.batch)

    @step
    async def finish(self, done: list[BatchDone]) -> StopEvent:
        return StopEvent(result=self.record.result())

    def _regeneration_work(self, ev: PipelineStart) -> Batch:
        """The one batch of a regeneration: the selected cards, the chunks of the source they came from,
        the target language if one is set (else each card keeps its own)."""
        assert ev.regeneration is not None
        cards, source = ev.regeneration.cards, ev.sources[0]
        chunks = chunk_sources([source], self.settings.llm.context_window)
        topics = dict.fromkeys(card.provenance.topic for card in cards if card.provenance.topic)
        return Batch(
            source_index=0,
            index=0,
            note_id=source.note_id,
            topics=[PlannedTopic(topic=AnalyzedTopic(name=_names(topics) or "selected cards"))],
            text=chunk_text(
                chunks, (card.provenance.chunk for card in cards if card.provenance.chunk is not None)
            ),
            language=self.settings.target_language,
        )


def _names(topics: Iterable[str]) -> str:
    """The topics' names as one topic's name, shortened to a name's bound."""
    return textwrap.shorten(", ".join(topics), MAX_NAME, placeholder=" …")

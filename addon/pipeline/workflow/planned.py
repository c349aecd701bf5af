"""The planned route: a fixed graph, no LLM call spent deciding what comes next.

    begin ─▶ analyze (∥ chunks) ─▶ plan ─▶ generate (∥ topics) ─▶ [enrich, only topics about code]
          ─▶ review ─▶ format (+ repair of broken cards only) ─▶ finish
    begin ─▶ revise (regeneration: the selected cards with the learner's feedback) ─▶ review ─▶ …

Each topic flows through on its own, so a topic is reviewed while others are still being generated, and its
cards are finished (kept on cancel) as soon as they are formatted. A step that fails for one topic records
a StepError and lets that topic's cards go on without it (or ends the topic when there are none).
How many requests run at once is bounded by `Agents.slots` (`settings.max_concurrency`), which serves work
with more steps behind it first; the steps' worker counts are only an upper bound, fixed with the class.
"""

from __future__ import annotations

from typing import Any

from workflows import Context, step
from workflows.events import StopEvent

from ..agents.team import Agents
from ..models import AnalyzedTopic
from ..roles import Role
from ..settings import PipelineSettings
from . import stages, topics
from .chunking import Chunk, chunk_sources, chunk_text
from .events import (
    ChunkAnalyzed,
    ChunkEvent,
    EnrichEvent,
    FormatEvent,
    PipelineStart,
    ReviewEvent,
    ReviseEvent,
    TopicDone,
    TopicEvent,
    TopicWork,
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
            return ReviseEvent(work=self._regeneration_work(ev), regeneration=ev.regeneration)
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
    async def plan(self, analyzed: list[ChunkAnalyzed]) -> list[TopicEvent] | StopEvent:
        assert self._start is not None
        analyses = [(ev.chunk, ev.analysis) for ev in analyzed]
        works = topics.plan_topics(self._start.sources, self._chunks, analyses, self.settings.target_language)
        self.record.outline = topics.outline_of(works, analyses)
        if not works:
            if not self.record.errors:
                self.record.fail(Role.TOPIC_ANALYZER, "No topics were found in the text.")
            return StopEvent(result=self.record.result())
        # Topics about code have one step more (the Code and Extra Field Expert): start them first, then the
        # most important, whose cards the later topics' Reviewers then see.
        order = sorted(works, key=lambda work: (not work.topic.code, -work.topic.importance))
        return [TopicEvent(work=work) for work in order]

    @step(num_workers=WORKERS)
    async def generate(self, ctx: Context, ev: TopicEvent) -> EnrichEvent | ReviewEvent | TopicDone:
        work = ev.work
        cards = await self.record.step(
            ctx, Role.QA_GENERATOR, work.topic.name, lambda: stages.generate(self.agents, work, self.written)
        )
        if not cards:
            return TopicDone(work=work)
        if stages.needs_enrichment(work):
            return EnrichEvent(work=work, cards=cards)
        return ReviewEvent(work=work, cards=cards)

    @step(num_workers=WORKERS)
    async def revise(self, ctx: Context, ev: ReviseEvent) -> list[ReviewEvent] | StopEvent:
        work, wanted = ev.work, ev.regeneration
        drafts = [card.draft for card in wanted.cards]
        revision = await self.record.step(
            ctx,
            Role.QA_GENERATOR,
            work.topic.name,
            lambda: self.agents.revise(
                stages.evidence(work, drafts), drafts, wanted.feedback, language=work.language
            ),
        )
        if revision is None:
            return StopEvent(result=self.record.result())
        self.record.changed(ctx, Role.QA_GENERATOR, work.topic.name, revision.changes)
        return [ReviewEvent(work=work, cards=stages.edited(wanted.cards, revision, Role.QA_GENERATOR))]

    @step(num_workers=WORKERS)
    async def enrich(self, ctx: Context, ev: EnrichEvent) -> ReviewEvent:
        enriched = await self.record.step(
            ctx, Role.CODE_EXPERT, ev.work.topic.name, lambda: stages.enrich(self.agents, ev.work, ev.cards)
        )
        return ReviewEvent(work=ev.work, cards=enriched or ev.cards)

    @step(num_workers=WORKERS)
    async def review(self, ctx: Context, ev: ReviewEvent) -> FormatEvent:
        reviewed = await self.record.step(
            ctx,
            Role.REVIEWER,
            ev.work.topic.name,
            lambda: stages.review(self.agents, ev.work, ev.cards, self.written),
        )
        if reviewed is None:
            return FormatEvent(work=ev.work, cards=ev.cards)
        self.record.changed(ctx, Role.REVIEWER, ev.work.topic.name, reviewed.changes)
        return FormatEvent(work=ev.work, cards=reviewed.cards)

    @step(num_workers=WORKERS)
    async def format(self, ctx: Context, ev: FormatEvent) -> TopicDone:
        await self.record.step(
            ctx,
            Role.FORMATTER,
            ev.work.topic.name,
            lambda: format_batch(self.agents, self.record, ev.work, ev.cards),
        )
        return TopicDone(work=ev.work)

    @step
    async def finish(self, done: list[TopicDone]) -> StopEvent:
        return StopEvent(result=self.record.result())

    def _regeneration_work(self, ev: PipelineStart) -> TopicWork:
        """The one batch of a regeneration: the selected cards, the chunks of the source they came from,
        the target language if one is set (else each card keeps its own)."""
        assert ev.regeneration is not None
        cards, source = ev.regeneration.cards, ev.sources[0]
        chunks = chunk_sources([source], self.settings.llm.context_window)
        topics = dict.fromkeys(card.provenance.topic for card in cards if card.provenance.topic)
        return TopicWork(
            source_index=0,
            topic_index=0,
            note_id=source.note_id,
            topic=AnalyzedTopic(name=", ".join(topics) or "selected cards"),
            text=chunk_text(
                chunks, (card.provenance.chunk for card in cards if card.provenance.chunk is not None)
            ),
            language=self.settings.target_language,
        )

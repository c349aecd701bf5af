"""The orchestrator route, faithful to the seed design: before every step an LLM call (the Orchestrator)
picks the next agent, and the agents work one request at a time.

What the seed lacked is added: the Orchestrator sees a compact summary of the state rather than the whole
history; a step cap (`orchestrator_max_steps`) ends the loop, and so does the run's time limit
(`run_timeout`, the workflow's own timeout, as on the planned route); a choice that cannot run (the
Reviewer before any cards) is not offered, and if made anyway is recorded as an error and skipped; agent
errors land in `RunResult.errors`. Whatever way it ends, cards not yet formatted are formatted before the
result (on a timeout, by `RunRecord.result`, without the LLM).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from workflows import Context, step
from workflows.events import StopEvent

from ..agents.team import Agents
from ..models import Card, Source
from ..roles import END, JOBS, Role
from ..settings import PipelineSettings
from . import stages, topics
from .batches import batch_cards
from .chunking import Chunk, chunk_sources
from .events import (
    Batch,
    DecideEvent,
    PipelineStart,
    RunCodeExpert,
    RunFormatter,
    RunQAGenerator,
    RunReviewer,
    RunTopicAnalyzer,
)
from .formatter import format_batch
from .route import Route
from .state import RunRecord

AgentEvent = RunTopicAnalyzer | RunQAGenerator | RunCodeExpert | RunReviewer | RunFormatter

_AGENT_EVENTS: dict[str, type[AgentEvent]] = {
    Role.TOPIC_ANALYZER: RunTopicAnalyzer,
    Role.QA_GENERATOR: RunQAGenerator,
    Role.CODE_EXPERT: RunCodeExpert,
    Role.REVIEWER: RunReviewer,
    Role.FORMATTER: RunFormatter,
}


@dataclass
class BatchCards:
    """A batch's cards and what has been done to them since they were written."""

    batch: Batch
    cards: list[Card]
    enriched: bool = False
    reviewed: bool = False
    formatted: bool = False


class OrchestratorWorkflow(Route):
    def __init__(self, settings: PipelineSettings, agents: Agents, record: RunRecord, **kwargs: Any) -> None:
        super().__init__(settings, agents, record, **kwargs)
        self._sources: list[Source] = []
        self._chunks: list[Chunk] = []
        self._plan: list[Batch] | None = None
        self._batches: list[BatchCards] = []
        self._steps: list[str] = []

    @step
    async def begin(self, ev: PipelineStart) -> DecideEvent:
        self._sources = ev.sources
        self._chunks = chunk_sources(ev.sources, self.settings.llm.context_window)
        return DecideEvent()

    @step
    async def decide(self, ctx: Context, ev: DecideEvent) -> AgentEvent | DecideEvent | StopEvent:
        limit = self.settings.orchestrator_max_steps
        if len(self._steps) >= limit:
            self.record.fail(
                Role.ORCHESTRATOR, f"Stopped after {limit} steps, the limit for the orchestrator."
            )
            return await self._end(ctx)
        decision = await self.record.step(
            ctx, Role.ORCHESTRATOR, "", lambda: self.agents.decide(self._summary(), self._choices())
        )
        if decision is None:
            return await self._end(ctx)
        self._steps.append(decision.next_agent)
        if decision.next_agent == END:
            return await self._end(ctx)
        if problem := self._cannot_run(decision.next_agent):
            self.record.fail(
                Role.ORCHESTRATOR, f"The Orchestrator chose the {decision.next_agent}, {problem}; skipped."
            )
            return DecideEvent()
        return _AGENT_EVENTS[decision.next_agent]()

    @step
    async def analyze(self, ctx: Context, ev: RunTopicAnalyzer) -> DecideEvent:
        analyses = []
        for chunk in self._chunks:
            analysis = await self.record.step(
                ctx,
                Role.TOPIC_ANALYZER,
                chunk.label,
                partial(self.agents.analyze, chunk.text, part=chunk.part),
            )
            analyses.append((chunk, analysis))
        settings = self.settings
        self._plan = topics.plan_topics(
            self._sources, self._chunks, analyses, settings.target_language, batch_cards(settings.llm)
        )
        self.record.outline = topics.outline_of(self._plan, analyses)
        return DecideEvent()

    @step
    async def generate(self, ctx: Context, ev: RunQAGenerator) -> DecideEvent:
        self._batches = []
        for batch in self._plan or []:
            cards = await self.record.step(
                ctx,
                Role.QA_GENERATOR,
                batch.name,
                partial(stages.generate, self.agents, batch, self.written),
            )
            if cards:
                self._batches.append(BatchCards(batch, cards))
                self.record.pending(batch, cards)
        return DecideEvent()

    @step
    async def enrich(self, ctx: Context, ev: RunCodeExpert) -> DecideEvent:
        for written in self._to_enrich():
            enriched = await self.record.step(
                ctx,
                Role.CODE_EXPERT,
                written.batch.name,
                partial(stages.enrich, self.agents, written.batch, written.cards),
            )
            written.enriched = True
            if enriched is not None:
                self._update(written, enriched)
        return DecideEvent()

    @step
    async def review(self, ctx: Context, ev: RunReviewer) -> DecideEvent:
        for written in self._batches:
            reviewed = await self.record.step(
                ctx,
                Role.REVIEWER,
                written.batch.name,
                partial(stages.review, self.agents, written.batch, written.cards, self.written),
            )
            if reviewed is not None:
                self.record.changed(ctx, Role.REVIEWER, written.batch.name, reviewed.changes)
                self._update(written, reviewed.cards)
                written.reviewed = True
        return DecideEvent()

    @step
    async def format(self, ctx: Context, ev: RunFormatter) -> DecideEvent:
        await self._format(ctx)
        return DecideEvent()

    async def _format(self, ctx: Context) -> None:
        for written in self._batches:
            if written.formatted:
                continue
            formatted = await self.record.step(
                ctx,
                Role.FORMATTER,
                written.batch.name,
                partial(format_batch, self.agents, self.record, written.batch, written.cards),
            )
            if formatted is not None:
                self.record.changed(ctx, Role.FORMATTER, written.batch.name, formatted.changes)
                written.cards = formatted.cards
            written.formatted = True

    async def _end(self, ctx: Context) -> StopEvent:
        await self._format(ctx)
        if not self._batches and not self.record.errors:
            self.record.fail(Role.ORCHESTRATOR, "The Orchestrator ended the run before any cards were made.")
        return StopEvent(result=self.record.result())

    def _update(self, written: BatchCards, cards: list[Card]) -> None:
        """New cards for a batch: a formatted batch has to be formatted again."""
        written.cards, written.formatted = cards, False
        self.record.pending(written.batch, cards)

    def _to_enrich(self) -> list[BatchCards]:
        return [w for w in self._batches if not w.enriched and stages.needs_enrichment(w.batch)]

    def _choices(self) -> list[str]:
        """What the Orchestrator is offered: the agents that can run now, and END once there are cards (or
        when nothing else can run)."""
        agents: list[str] = [role for role in JOBS if self._cannot_run(role) is None]
        return [*agents, END] if self._batches or not agents else agents

    def _cannot_run(self, agent: str) -> str | None:
        """Why the chosen agent has nothing to do now, or None when it can run."""
        if agent == Role.TOPIC_ANALYZER and self._plan:
            return "but the topics are analyzed already"
        if agent == Role.QA_GENERATOR and not self._plan:
            return "but there are no topics yet"
        if agent == Role.QA_GENERATOR and self._batches:
            return "but the cards are written already"
        if agent in (Role.CODE_EXPERT, Role.REVIEWER, Role.FORMATTER) and not self._batches:
            return "but there are no cards yet"
        if agent == Role.CODE_EXPERT and not self._to_enrich():
            return "but no card needs it"
        if agent == Role.FORMATTER and all(written.formatted for written in self._batches):
            return "but the cards are formatted already"
        return None

    def _summary(self) -> str:
        """What the Orchestrator decides from: counts and flags, not the texts."""
        cards = sum(len(w.cards) for w in self._batches)
        state = {
            "steps_taken": self._steps,
            "steps_left": self.settings.orchestrator_max_steps - len(self._steps),
            "topics": None if self._plan is None else sum(len(batch.topics) for batch in self._plan),
            "cards": cards,
            "cards_needing_code_expert": sum(
                len(stages.about_code(w.batch, w.cards)) for w in self._to_enrich()
            ),
            "reviewed": bool(self._batches) and all(w.reviewed for w in self._batches),
            "formatted": bool(self._batches) and all(w.formatted for w in self._batches),
            "recent_errors": [e.message for e in self.record.errors[-3:]],
        }
        return json.dumps(state, ensure_ascii=False)

"""What both routes do to a batch of cards (enrich, review, format + repair), and the run's shared record.

A batch is one topic's cards. The functions here are the same whichever route calls them, so the planned
workflow and the orchestrator differ only in who decides what runs next, and in what runs at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

from workflows import Context, Workflow

from .agents import (
    CODE_EXPERT,
    FORMATTER,
    QA_GENERATOR,
    REVIEWER,
    Agents,
    Review,
    TopicAnalysis,
    apply_edits,
    needs_code_expert,
)
from .chunking import Chunk, chunk_text, common_language, merge_topics
from .errors import PipelineError
from .events import CardsChanged, StepFinished, StepStarted, TopicWork
from .formatting import format_card, format_cards
from .lints import lint_cards, needs_repair, with_cross_card_lints
from .models import Card, CardDraft, Outline, Provenance, RunResult, Source, StepError, Topic
from .settings import PipelineSettings
from .usage import UsageMeter

T = TypeVar("T")

MAX_CHANGES = 30
MAX_CHANGE_CHARS = 200


class Reviewed(NamedTuple):
    cards: list[Card]
    changes: list[str]


class RunState:
    """What a run has done so far: finished cards per topic, the outline and the errors.

    Steps write to it as they go, so that the cards finished before a cancellation or a timeout are kept.
    """

    def __init__(self, mode: Literal["planned", "orchestrator"], usage: UsageMeter) -> None:
        self.mode = mode
        self.usage = usage
        self.outline: Outline | None = None
        self.errors: list[StepError] = []
        self._finished: dict[tuple[int, int], list[Card]] = {}

    @property
    def cards_so_far(self) -> int:
        return sum(map(len, self._finished.values()))

    def finish(self, key: tuple[int, int], cards: list[Card]) -> None:
        self._finished[key] = cards

    def fail(self, step: str, error: Exception | str) -> None:
        self.errors.append(StepError(step=step, message=str(error)))

    def result(self, *, cancelled: bool = False) -> RunResult:
        """The run's result; the lints that compare cards run once more over all of them."""
        cards = [card for key in sorted(self._finished) for card in self._finished[key]]
        findings = with_cross_card_lints([card.lints for card in cards], [card.draft for card in cards])
        return RunResult(
            mode=self.mode,
            outline=self.outline,
            cards=[card.model_copy(update={"lints": f}) for card, f in zip(cards, findings, strict=True)],
            usage=self.usage.snapshot(),
            errors=list(self.errors),
            cancelled=cancelled,
        )

    async def step(self, ctx: Context, role: str, topic: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """Run one agent step with progress events; a pipeline error is recorded and gives None."""
        ctx.write_event_to_stream(StepStarted(role=role, topic=topic, **self._totals()))
        try:
            value = await call()
        except PipelineError as e:
            self.fail(f"{role}: {topic}" if topic else role, e)
            ctx.write_event_to_stream(StepFinished(role=role, topic=topic, error=str(e), **self._totals()))
            return None
        ctx.write_event_to_stream(StepFinished(role=role, topic=topic, **self._totals()))
        return value

    def changed(self, ctx: Context, role: str, topic: str, changes: Sequence[str]) -> None:
        """Tell listeners what an agent changed; its lines are cut to a sane number and length."""
        lines = [line.strip()[:MAX_CHANGE_CHARS] for line in changes if line.strip()][:MAX_CHANGES]
        if lines:
            ctx.write_event_to_stream(CardsChanged(role=role, topic=topic, changes=lines, **self._totals()))

    def _totals(self) -> dict[str, object]:
        return {"cards_so_far": self.cards_so_far, "usage": self.usage.snapshot()}


class Route(Workflow):
    """The workflow of a route, made for one run: its settings, its agents and its record."""

    def __init__(self, settings: PipelineSettings, agents: Agents, state: RunState, **kwargs: Any) -> None:
        super().__init__(timeout=settings.run_timeout, **kwargs)
        self.settings = settings
        self.agents = agents
        self.state = state


# Topics


def plan_topics(
    sources: Sequence[Source],
    chunks: Sequence[Chunk],
    analyses: Sequence[tuple[Chunk, TopicAnalysis | None]],
    target_language: str | None,
) -> list[TopicWork]:
    """The topics to make cards for: per source, its chunks' topics merged, each with its source text.

    Topics are merged within a source, not across sources, so that every card keeps its note.
    """
    works: list[TopicWork] = []
    for source_index, source in enumerate(sources):
        own = sorted(
            (
                (chunk, analysis)
                for chunk, analysis in analyses
                if analysis and chunk.source_index == source_index
            ),
            key=lambda pair: pair[0].index,
        )
        plans = merge_topics((chunk.index, topic) for chunk, analysis in own for topic in analysis.topics)
        language = target_language or source.language or common_language(a.language for _, a in own)
        source_chunks = sorted((c for c in chunks if c.source_index == source_index), key=lambda c: c.index)
        names = [plan.topic.name for plan in plans]
        works += [
            TopicWork(
                source_index=source_index,
                topic_index=index,
                note_id=source.note_id,
                topic=plan.topic,
                chunk=plan.chunks[0],
                text=chunk_text(source_chunks, plan.chunks),
                other_topics=[name for name in names if name != plan.topic.name],
                language=language or None,
            )
            for index, plan in enumerate(plans)
        ]
    return works


def outline_of(works: Sequence[TopicWork], analyses: Sequence[tuple[Chunk, TopicAnalysis | None]]) -> Outline:
    """The run's outline: every topic, and the source language the Topic Analyzer found most often."""
    return Outline(
        language=common_language(analysis.language for _, analysis in analyses if analysis),
        topics=[Topic.model_validate(work.topic.model_dump(exclude={"code"})) for work in works],
    )


# Cards


def new_cards(drafts: Sequence[CardDraft], work: TopicWork) -> list[Card]:
    provenance = Provenance(
        topic=work.topic.name, chunk=work.chunk, source_note_id=work.note_id, agents=[QA_GENERATOR]
    )
    return [Card(id=uuid.uuid4().hex[:12], draft=draft, provenance=provenance) for draft in drafts]


def touched(card: Card, role: str, draft: CardDraft | None = None, *, card_id: str | None = None) -> Card:
    """The card as `role` left it: maybe a new draft or id, and `role` in its provenance."""
    agents = card.provenance.agents if role in card.provenance.agents else [*card.provenance.agents, role]
    return card.model_copy(
        update={
            "id": card_id or card.id,
            "draft": draft or card.draft,
            "provenance": card.provenance.model_copy(update={"agents": agents}),
        }
    )


def edited(cards: Sequence[Card], review: Review, role: str) -> list[Card]:
    """The batch after a review or revision. A card rewritten or split keeps its id on its first new card;
    further cards split from it get ids `<id>.<suffix>`, so callers can tell which card they came from."""
    result: list[Card] = []
    seen: set[int] = set()
    for index, draft in apply_edits(len(cards), review.edits):
        card = cards[index]
        card_id = f"{card.id}.{uuid.uuid4().hex[:6]}" if index in seen else card.id
        seen.add(index)
        if draft is not None and not draft.tags:
            draft = draft.model_copy(update={"tags": card.draft.tags})
        result.append(touched(card, role, draft, card_id=card_id))
    return result


def needs_enrichment(cards: Sequence[Card], work: TopicWork) -> list[int]:
    return [i for i, card in enumerate(cards) if needs_code_expert(card.draft, code_topic=work.topic.code)]


# Stages
#
# Linting and formatting take a few milliseconds a card: they run in a worker thread, so that the event
# loop meanwhile sends the requests other topics are ready to make.


async def generate(agents: Agents, work: TopicWork) -> list[Card]:
    drafts = await agents.generate(
        work.text, work.topic, other_topics=work.other_topics, language=work.language
    )
    return new_cards(drafts, work)


async def enrich(agents: Agents, work: TopicWork, cards: list[Card]) -> list[Card]:
    """The Code and Extra Field Expert writes the Extra of the cards that need it; the rest stay as is."""
    picked = needs_enrichment(cards, work)
    if not picked:
        return cards
    answer = await agents.enrich(
        [cards[i].draft for i in picked], topic=work.topic.name, language=work.language
    )
    extras = {e.card: e.extra for e in answer.extras if e.extra.strip()}
    result = list(cards)
    for number, index in enumerate(picked, start=1):
        if number in extras:
            draft = cards[index].draft.model_copy(update={"extra": extras[number]})
            result[index] = touched(cards[index], CODE_EXPERT, draft)
    return result


async def review(agents: Agents, work: TopicWork, cards: list[Card]) -> Reviewed:
    """The Reviewer's edits applied to the batch; it sees each card's lint findings."""
    drafts = [card.draft for card in cards]
    findings = await asyncio.to_thread(lint_cards, drafts)
    answer = await agents.review(drafts, findings, topic=work.topic.name, language=work.language)
    return Reviewed(edited(cards, answer, REVIEWER), answer.changes)


async def format_batch(agents: Agents, state: RunState, work: TopicWork, cards: list[Card]) -> list[Card]:
    """The deterministic Formatter; only cards it finds broken go to the LLM for repair, all at once.
    The formatted batch is recorded as finished.

    A card whose repair fails is kept with its findings, and the failure is recorded.
    """
    formatted = [touched(card, FORMATTER) for card in await asyncio.to_thread(format_cards, cards)]
    broken = [i for i, card in enumerate(formatted) if needs_repair(card)]
    repairs = await asyncio.gather(
        *(agents.repair(formatted[i].draft, formatted[i].lints, topic=work.topic.name) for i in broken),
        return_exceptions=True,
    )
    for index, repaired in zip(broken, repairs, strict=True):
        if isinstance(repaired, PipelineError):
            state.fail(f"{FORMATTER}: {work.topic.name}", repaired)
        elif isinstance(repaired, BaseException):
            raise repaired
        else:
            formatted[index] = format_card(formatted[index].model_copy(update={"draft": repaired}))
    state.finish(work.key, formatted)
    return formatted

"""What both routes do to a batch of cards: generate, enrich, review (formatter.py formats them).

A batch is one topic's cards. The functions here are the same whichever route calls them, so the planned
workflow and the orchestrator differ only in who decides what runs next, and in what runs at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from ..agents.edits import apply_edits
from ..agents.team import Agents, needs_code_expert
from ..cards.formatting import lint_drafts
from ..models import Card, CardDraft, Provenance, Review
from ..roles import Role
from .events import TopicWork


class Reviewed(NamedTuple):
    cards: list[Card]
    changes: list[str]


def new_cards(drafts: Sequence[CardDraft], work: TopicWork) -> list[Card]:
    provenance = Provenance(
        topic=work.topic.name, chunk=work.chunk, source_note_id=work.note_id, agents=[Role.QA_GENERATOR]
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
# Linting takes a few milliseconds a card: it runs in a worker thread, so that the event loop meanwhile sends
# the requests other topics are ready to make.


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
            result[index] = touched(cards[index], Role.CODE_EXPERT, draft)
    return result


async def review(agents: Agents, work: TopicWork, cards: list[Card]) -> Reviewed:
    """The Reviewer's edits applied to the batch; it sees each card's lint findings."""
    drafts = [card.draft for card in cards]
    findings = await asyncio.to_thread(lint_drafts, drafts)
    answer = await agents.review(drafts, findings, topic=work.topic.name, language=work.language)
    return Reviewed(edited(cards, answer, Role.REVIEWER), answer.changes)

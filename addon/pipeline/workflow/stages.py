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
from ..agents.team import Agents
from ..cards.lints import card_text, lint_cards
from ..models import Card, CardDraft, Provenance, Review
from ..roles import Role
from .events import TopicWork
from .excerpts import CARDS_CHARS, GENERATOR_CHARS, excerpt
from .written import WrittenCards


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


def evidence(work: TopicWork, drafts: Sequence[CardDraft]) -> str:
    """The passages of the topic's source that the cards are about, for the agents that check them."""
    return excerpt(work.text, [card_text(draft) for draft in drafts], CARDS_CHARS)


def needs_enrichment(work: TopicWork) -> bool:
    """Whether the Code and Extra Field Expert writes the Extra of this topic's cards: the Topic Analyzer
    says the source shows code (a code block or a command) for the topic."""
    return work.topic.code


# Stages
#
# Linting takes a few milliseconds a card: it runs in a worker thread, so that the event loop meanwhile sends
# the requests other topics are ready to make.


async def generate(agents: Agents, work: TopicWork, written: WrittenCards) -> list[Card]:
    topic = work.topic
    text = excerpt(work.text, [topic.name, *topic.key_points, *topic.connections], GENERATOR_CHARS)
    drafts = await agents.generate(text, topic, other_topics=work.other_topics, language=work.language)
    written.update(work, drafts)
    return new_cards(drafts, work)


async def enrich(agents: Agents, work: TopicWork, cards: list[Card]) -> list[Card]:
    """The Code and Extra Field Expert writes the Extra of the topic's cards, checked against its source; an
    empty extra in its reply leaves the card's as it was."""
    drafts = [card.draft for card in cards]
    answer = await agents.enrich(
        evidence(work, drafts), drafts, topic=work.topic.name, language=work.language
    )
    extras = {e.card: e.extra for e in answer.extras if e.extra.strip()}
    return [
        touched(card, Role.CODE_EXPERT, card.draft.model_copy(update={"extra": extras[number]}))
        if number in extras
        else card
        for number, card in enumerate(cards, start=1)
    ]


async def review(agents: Agents, work: TopicWork, cards: list[Card], written: WrittenCards) -> Reviewed:
    """The Reviewer's edits applied to the batch. It sees the topic's source, each card's lint findings, and
    the cards of other topics that look close to these (near-duplicates among them are lint findings too).
    """
    drafts = [card.draft for card in cards]
    findings = await asyncio.to_thread(lint_cards, drafts)
    close = written.close_to(work, drafts)
    answer = await agents.review(
        evidence(work, drafts),
        drafts,
        [own + near for own, near in zip(findings, close.findings, strict=True)],
        topic=work.topic.name,
        others=close.lines,
        language=work.language,
    )
    reviewed = edited(cards, answer, Role.REVIEWER)
    written.update(work, [card.draft for card in reviewed])
    return Reviewed(reviewed, answer.changes)

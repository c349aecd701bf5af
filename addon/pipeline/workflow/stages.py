"""What both routes do to a batch of cards: generate, enrich, review (formatter.py formats them).

A batch is a few topics of one source (batches.py). The functions here are the same whichever route calls
them, so the planned workflow and the orchestrator differ only in who decides what runs next, and in what
runs at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from ..agents.edits import apply_edits, to_draft
from ..agents.team import Agents, card_budget
from ..cards.formatting import lint_drafts
from ..cards.lints import card_text
from ..cards.similarity import Corpus
from ..models import Card, CardDraft, GeneratedCard, Provenance, Review
from ..roles import Role
from .events import Batch, PlannedTopic
from .excerpts import checking_limit, excerpt, generator_limit
from .written import WrittenCards


class Reviewed(NamedTuple):
    cards: list[Card]
    changes: list[str]


def new_cards(generated: Sequence[GeneratedCard], batch: Batch) -> list[Card]:
    """The generator's cards, each with the provenance of the topic it names."""
    cards = []
    for card in generated:
        planned = _topic_of(card, batch.topics)
        provenance = Provenance(
            topic=planned.topic.name,
            chunk=planned.chunk,
            source_note_id=batch.note_id,
            agents=[Role.QA_GENERATOR],
        )
        cards.append(Card(id=uuid.uuid4().hex[:12], draft=to_draft(card), provenance=provenance))
    return cards


def _topic_of(card: GeneratedCard, topics: Sequence[PlannedTopic]) -> PlannedTopic:
    """The topic a card names; for a number that names none, the topic whose name and points are most like
    the card."""
    if 1 <= card.topic <= len(topics):
        return topics[card.topic - 1]
    texts = [" ".join([p.topic.name, *p.topic.key_points, *p.topic.connections]) for p in topics]
    corpus = Corpus([*texts, f"{card.front} {card.back}"])
    closest = corpus.most_similar(len(texts), range(len(texts)))
    return topics[closest[0] if closest else 0]


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


def evidence(batch: Batch, drafts: Sequence[CardDraft]) -> str:
    """The passages of the batch's source that the cards are about, for the agents that check them."""
    return excerpt(batch.text, [card_text(draft) for draft in drafts], checking_limit(len(drafts)))


def needs_enrichment(batch: Batch) -> bool:
    """Whether the Code and Extra Field Expert writes the Extra of some of the batch's cards: the Topic
    Analyzer says the source shows code (a code block or a command) for one of its topics."""
    return batch.code


def about_code(batch: Batch, cards: Sequence[Card]) -> list[int]:
    """The indices of the cards whose topic is about code."""
    code = {planned.topic.name for planned in batch.topics if planned.topic.code}
    return [index for index, card in enumerate(cards) if card.provenance.topic in code]


# Stages
#
# Linting takes a few milliseconds a card: it runs in a worker thread, so that the event loop meanwhile sends
# the requests other topics are ready to make.


async def generate(agents: Agents, batch: Batch, written: WrittenCards) -> list[Card]:
    topics = [planned.topic for planned in batch.topics]
    about = [text for topic in topics for text in (topic.name, *topic.key_points, *topic.connections)]
    text = excerpt(batch.text, about, generator_limit(sum(map(card_budget, topics))))
    generated = await agents.generate(text, topics, other_topics=batch.other_topics, language=batch.language)
    cards = new_cards(generated, batch)
    written.update(batch, cards)
    return cards


async def enrich(agents: Agents, batch: Batch, cards: list[Card]) -> list[Card]:
    """The Code and Extra Field Expert writes the Extra of the cards of the batch's topics about code,
    checked against its source; an empty extra in its reply leaves the card's as it was."""
    chosen = about_code(batch, cards)
    drafts = [cards[index].draft for index in chosen]
    if not drafts:
        return cards
    answer = await agents.enrich(evidence(batch, drafts), drafts, topics=batch.name, language=batch.language)
    extras = {
        chosen[e.card - 1]: e.extra for e in answer.extras if 1 <= e.card <= len(chosen) and e.extra.strip()
    }
    return [
        touched(card, Role.CODE_EXPERT, card.draft.model_copy(update={"extra": extras[index]}))
        if index in extras
        else card
        for index, card in enumerate(cards)
    ]


async def review(agents: Agents, batch: Batch, cards: list[Card], written: WrittenCards) -> Reviewed:
    """The Reviewer's edits applied to the batch. It sees the batch's source, each card's lint findings, and
    the cards of other batches that look close to these (near-duplicates among them are lint findings too).
    """
    drafts = [card.draft for card in cards]
    findings = await asyncio.to_thread(lint_drafts, drafts)
    close = written.close_to(batch, drafts)
    answer = await agents.review(
        evidence(batch, drafts),
        drafts,
        [own + near for own, near in zip(findings, close.findings, strict=True)],
        topics=batch.name,
        others=close.lines,
        language=batch.language,
    )
    reviewed = edited(cards, answer, Role.REVIEWER)
    written.update(batch, reviewed)
    return Reviewed(reviewed, answer.changes)

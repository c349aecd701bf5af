"""Topics in batches: the cards of a batch are written in one request and reviewed in another.

With a request per topic, requests grew with the number of topics rather than with the text (16 topics of
a 1,800-word text took 35 requests). A batch holds topics of one source whose planned cards (`card_budget`)
add up to at most `MAX_BATCH_CARDS`, so the number of requests follows the amount of material. Each batch
starts with the most important topic left and takes the topics closest to it while they fit: those found in
the same chunk first, then those whose names and points share the most words with its topics. So topics that
might ask the same fact are reviewed together, and their passages of the source are sent once. A batch spans
at most `MAX_CHUNKS_PER_TOPIC` chunks, which bounds its source text. Where the context window is small, a
batch holds fewer cards, so that its Reviewer's request still fits with its reply (`batch_cards`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..agents.team import card_budget
from ..cards.similarity import Corpus
from ..settings import LLMSettings
from .chunking import MAX_CHUNKS_PER_TOPIC
from .events import PlannedTopic

MAX_BATCH_CARDS = 16
"""The most cards planned for one batch: two central topics, or one and a few details."""
MIN_BATCH_CARDS = 4
PROMPT_TOKENS, TOKENS_PER_CARD = 800, 200
"""About what a Reviewer's request takes (measured on recorded runs): its system prompt, then per card the
card with its findings and the card's passages of the source."""


def batch_cards(settings: LLMSettings) -> int:
    """The most cards planned for one batch: `MAX_BATCH_CARDS`, or fewer where the Reviewer's request would
    not fit in the context window with room left for the reply it asks for (but at least
    `MIN_BATCH_CARDS`)."""
    room = settings.context_window - settings.reply_tokens - PROMPT_TOKENS
    return max(MIN_BATCH_CARDS, min(MAX_BATCH_CARDS, room // TOKENS_PER_CARD))


def group(planned: Sequence[PlannedTopic], most_cards: int = MAX_BATCH_CARDS) -> list[list[PlannedTopic]]:
    """The topics of one source in batches of at most `most_cards` planned (a topic that plans more is a
    batch of its own); within a batch, in the order of the plan."""
    corpus = Corpus(" ".join([p.topic.name, *p.topic.key_points, *p.topic.connections]) for p in planned)
    left = sorted(range(len(planned)), key=lambda index: -planned[index].topic.importance)
    batches: list[list[PlannedTopic]] = []
    while left:
        members = [left.pop(0)]
        while fitting := [index for index in left if _fits(planned, members, index, most_cards)]:
            chosen = max(fitting, key=lambda index: _closeness(corpus, planned, members, index))
            members.append(chosen)
            left.remove(chosen)
        batches.append([planned[index] for index in sorted(members, key=lambda m: planned[m].order)])
    return batches


def _closeness(
    corpus: Corpus, planned: Sequence[PlannedTopic], members: list[int], candidate: int
) -> tuple[bool, float]:
    """How close a topic is to a batch: whether it shares a chunk with it, then its highest similarity."""
    chunks = {chunk for member in members for chunk in planned[member].chunks}
    similar = max(corpus.similarity(corpus.stems[candidate], corpus.stems[member]) for member in members)
    return bool(chunks & set(planned[candidate].chunks)), similar


def _fits(planned: Sequence[PlannedTopic], members: list[int], candidate: int, most_cards: int) -> bool:
    together = [planned[index] for index in [*members, candidate]]
    cards = sum(card_budget(p.topic) for p in together)
    chunks = {chunk for p in together for chunk in p.chunks}
    return cards <= most_cards and len(chunks) <= MAX_CHUNKS_PER_TOPIC

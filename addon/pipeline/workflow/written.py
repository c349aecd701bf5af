"""The run owns uniqueness: the cards every topic has written so far, and which of them a batch repeats.

Topics are generated and reviewed in parallel. Each topic's cards are recorded here when they are written and
again when they are reviewed, and the Reviewer of a topic sees the cards of other topics that look close to
its own (`close_to`). For any two topics, the one reviewed later sees the other's cards, so a fact asked in
two topics reaches at least one Reviewer with both cards in view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..agents.edits import to_json, written
from ..cards.lints import NEAR_DUPLICATE, NEAR_DUPLICATE_CARD, card_text, normalize
from ..cards.similarity import Corpus
from ..models import CardDraft, LintFinding
from .events import TopicWork

RELATED = 0.45
"""Similarity from which another topic's card is shown to a Reviewer."""
MAX_SHOWN = 6
"""At most this many other topics' cards go to one Reviewer, the closest first."""


@dataclass(frozen=True)
class Close:
    lines: list[str]
    """The other topics' cards that look close to the batch, one JSON object per line, for the prompt."""
    findings: list[list[LintFinding]]
    """Per card of the batch: a near-duplicate finding when another topic's card asks nearly the same."""


class WrittenCards:
    """The cards written so far, per topic."""

    def __init__(self) -> None:
        self._by_topic: dict[tuple[int, int], tuple[str, list[CardDraft]]] = {}

    def update(self, work: TopicWork, drafts: Sequence[CardDraft]) -> None:
        self._by_topic[work.key] = (work.topic.name, list(drafts))

    def close_to(self, work: TopicWork, drafts: Sequence[CardDraft]) -> Close:
        others = [
            (topic, draft) for key, (topic, own) in self._by_topic.items() if key != work.key for draft in own
        ]
        corpus = Corpus(normalize(card_text(draft)) for draft in [*drafts, *(draft for _, draft in others)])
        stems, theirs = corpus.stems[: len(drafts)], corpus.stems[len(drafts) :]
        closeness = [[corpus.similarity(mine, other) for other in theirs] for mine in stems]
        findings: list[list[LintFinding]] = []
        for row in closeness:
            closest = max(range(len(row)), key=row.__getitem__, default=None)
            near = closest is not None and row[closest] >= NEAR_DUPLICATE
            findings.append([_near_duplicate(others[closest][0])] if near and closest is not None else [])
        score = {other: max(row[other] for row in closeness) for other in range(len(others)) if closeness}
        shown = sorted((o for o in score if score[o] >= RELATED), key=lambda o: -score[o])[:MAX_SHOWN]
        lines = [to_json({"topic": others[o][0], **_front_and_back(others[o][1])}) for o in sorted(shown)]
        return Close(lines, findings)


def _near_duplicate(topic: str) -> LintFinding:
    message = f"Asks nearly the same as a card of the topic {to_json(topic)} listed above."
    return LintFinding(lint_id=NEAR_DUPLICATE_CARD, message=message)


def _front_and_back(draft: CardDraft) -> dict[str, str]:
    card = written(draft)
    return {"front": card.front, "back": card.back}

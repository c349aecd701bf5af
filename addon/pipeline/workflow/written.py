"""The run owns uniqueness: the cards every batch has written so far, which of them a batch repeats, and the
last check before a batch is finished.

Batches are generated and reviewed in parallel; topics that might ask the same fact are mostly in one batch
(batches.py), whose Reviewer sees all their cards. Across batches, each batch's cards are recorded here when
they are written and again when they are reviewed, and the Reviewer of a batch sees the cards of batches
earlier in the plan (more important topics first) that look close to its own (`close_to`), and drops its
cards that ask what those ask: a fact asked in two batches stays with the earlier one, and two Reviewers
never both drop their copy. Last, a card that still repeats a card finished before it (the same front, or
nearly the same question and answer: `REPEAT`) is dropped as its batch is finished (`repeats`); so no two
cards of a run ask the same, and cards already handed to the learner never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..agents.edits import to_json, written
from ..cards.lints import (
    NEAR_DUPLICATE,
    NEAR_DUPLICATE_CARD,
    answer_text,
    card_text,
    front_text,
    normalize,
)
from ..cards.similarity import Corpus, stems
from ..models import Card, CardDraft, LintFinding
from .events import Batch

RELATED = 0.35
"""Similarity from which an earlier batch's card is shown to a Reviewer."""
MAX_SHOWN = 8
"""At most this many earlier batches' cards go to one Reviewer: those it nearly repeats, then the closest."""
REPEAT = NEAR_DUPLICATE
"""Similarity from which a card whose answer shares words with an earlier card's answer repeats it: what the
`near-duplicate` lint flags (distinct cards on one topic score below 0.5 in real runs)."""


@dataclass(frozen=True)
class Close:
    lines: list[str]
    """The other batches' cards that look close to the batch, one JSON object per line, for the prompt."""
    findings: list[list[LintFinding]]
    """Per card of the batch: a near-duplicate finding when another batch's card asks nearly the same."""


class WrittenCards:
    """The cards written so far, per batch, with the topic of each."""

    def __init__(self) -> None:
        self._by_batch: dict[tuple[int, int], list[tuple[str, CardDraft]]] = {}

    def update(self, batch: Batch, cards: Sequence[Card]) -> None:
        self._by_batch[batch.key] = [(card.provenance.topic, card.draft) for card in cards]

    def close_to(self, batch: Batch, drafts: Sequence[CardDraft]) -> Close:
        """The cards of batches earlier in the plan that look close to `drafts`."""
        others = [pair for key, own in sorted(self._by_batch.items()) if key < batch.key for pair in own]
        corpus = Corpus(normalize(card_text(draft)) for draft in [*drafts, *(draft for _, draft in others)])
        stems, theirs = corpus.stems[: len(drafts)], corpus.stems[len(drafts) :]
        closeness = [[corpus.similarity(mine, other) for other in theirs] for mine in stems]
        nearest = [max(range(len(row)), key=row.__getitem__, default=None) for row in closeness]
        repeated = [
            closest if closest is not None and row[closest] >= NEAR_DUPLICATE else None
            for row, closest in zip(closeness, nearest, strict=True)
        ]
        score = {other: max(row[other] for row in closeness) for other in range(len(others)) if closeness}
        related = sorted((o for o in score if score[o] >= RELATED), key=lambda o: -score[o])
        shown = list(dict.fromkeys([*(o for o in repeated if o is not None), *related]))[:MAX_SHOWN]
        lines = [to_json({"topic": others[o][0], **_front_and_back(others[o][1])}) for o in sorted(shown)]
        findings = [[] if o is None else [_near_duplicate(others[o][0])] for o in repeated]
        return Close(lines, findings)


def repeats(cards: Sequence[Card], finished: Sequence[Card]) -> list[tuple[int, str]]:
    """The cards (by index) that repeat a card of `finished` or an earlier one of `cards`, each with a line
    for the learner saying which: the same front; or a similarity of `REPEAT` or more, and answers that
    share at least half the words of the shorter one (so that two cards built alike, asking for different
    things, both stay)."""
    drafts = [card.draft for card in [*finished, *cards]]
    corpus = Corpus(normalize(card_text(draft)) for draft in drafts)
    fronts = [normalize(front_text(draft)) for draft in drafts]
    found: list[tuple[int, str]] = []
    dropped: set[int] = set()
    answers = [normalize(answer_text(draft)) for draft in drafts]
    for index in range(len(finished), len(drafts)):
        earlier = [other for other in range(index) if other not in dropped]
        same = next((other for other in earlier if fronts[other] and fronts[other] == fronts[index]), None)
        closest = corpus.most_similar(index, earlier)
        if closest and closest[1] >= REPEAT and _alike(answers[index], answers[closest[0]]):
            same = closest[0] if same is None else same
        if same is not None:
            dropped.add(index)
            what = to_json(_front_and_back(drafts[index])["front"])
            kept = to_json(_front_and_back(drafts[same])["front"])
            found.append((index - len(finished), f"Dropped {what}: it asks what {kept} asks."))
    return found


def _alike(first: str, second: str) -> bool:
    """Whether two answers share at least half the meaningful words of the shorter one (or, without any,
    are the same)."""
    mine, theirs = stems(first), stems(second)
    if not mine or not theirs:
        return first == second
    return 2 * len(mine & theirs) >= min(len(mine), len(theirs))


def _near_duplicate(topic: str) -> LintFinding:
    message = f"Asks nearly the same as a card of the topic {to_json(topic)} listed above."
    return LintFinding(lint_id=NEAR_DUPLICATE_CARD, message=message)


def _front_and_back(draft: CardDraft) -> dict[str, str]:
    card = written(draft)
    return {"front": card.front, "back": card.back}

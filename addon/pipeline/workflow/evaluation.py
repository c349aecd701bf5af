"""Judging a run for `python -m addon.cli eval`: the figures of the project's quality notes, by a blind judge.

Every card a learner would review (a cloze note gives one per number) gets one of Kirkby & Matuschak's four
classes and defect letters; a note counts by its worst card. The judge also lists the text's key ideas; an
idea is covered when a card rated usable or light polish teaches it. The run's own usage gives requests per
1,000 words and prompt tokens per usable card.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from ..agents.edits import written
from ..agents.judge import BATCH, Judge, LearnerCard
from ..cards import cloze
from ..llm.client import LLMClient
from ..llm.usage import UsageMeter
from ..models import Card, ClozeCard, Defect, KeyIdea, RunResult, Usage, Verdict
from ..settings import LLMSettings

CLASSES: dict[Verdict, str] = {
    "usable": "usable as is",
    "polish": "light polish",
    "rework": "substantial rework",
    "unusable": "unusable",
}
DEFECTS: dict[Defect, str] = {
    "F": "wrong",
    "A": "ambiguous",
    "M": "several facts",
    "L": "answer leaked",
    "T": "trivial",
    "D": "duplicate",
    "X": "formatting",
    "E": "Extra unhelpful or too long",
}
GOOD: tuple[Verdict, ...] = ("usable", "polish")


class JudgedCard(LearnerCard):
    verdict: Verdict | None = None
    """None when the judge gave no verdict on this card."""
    defects: list[Defect] = Field(default_factory=list)
    ideas: list[int] = Field(default_factory=list)
    comment: str = ""


class Summary(BaseModel):
    words: int
    notes: int
    cards: int
    classes: dict[Verdict, int]
    """Cards per class."""
    note_classes: dict[Verdict, int]
    """Notes per class, each counted by its worst card."""
    defects: dict[Defect, int]
    ideas: int
    covered: int
    integrating: int
    integrating_covered: int
    usage: Usage
    """The run's."""
    judge_usage: Usage

    @property
    def judged(self) -> int:
        return sum(self.classes.values())

    @property
    def good(self) -> int:
        return sum(self.classes.get(verdict, 0) for verdict in GOOD)

    def table(self) -> str:
        """The figures as a Markdown table."""
        rows = [("cards reviewed (notes)", f"{self.cards} ({self.notes})")]
        if self.judged < self.cards:
            rows.append(("not judged", str(self.cards - self.judged)))
        rows += [(name, _share(self.classes.get(v, 0), self.judged)) for v, name in CLASSES.items()]
        rows.append(("usable or polish", _share(self.good, self.judged)))
        good_notes = sum(self.note_classes.get(verdict, 0) for verdict in GOOD)
        rows.append(("notes usable or polish", _share(good_notes, sum(self.note_classes.values()))))
        found = sorted(self.defects.items(), key=lambda item: (-item[1], item[0]))
        rows.append(("defects", ", ".join(f"{letter} {count}" for letter, count in found) or "none"))
        integrating = f"integrating {self.integrating_covered} of {self.integrating}"
        rows.append(("key ideas covered", f"{self.covered} of {self.ideas}; {integrating}"))
        per_thousand = 1000 * self.usage.requests / max(self.words, 1)
        rows.append(("requests", f"{self.usage.requests} ({per_thousand:.1f} per 1,000 words)"))
        per_good = f"{self.usage.prompt_tokens / self.good:,.0f}" if self.good else "-"
        rows.append(("prompt tokens", f"{self.usage.prompt_tokens:,} ({per_good} per usable or polish card)"))
        rows.append(("judge", self.judge_usage.describe()))
        return "\n".join(["| measure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


class Evaluation(BaseModel):
    summary: Summary
    ideas: list[KeyIdea]
    cards: list[JudgedCard]
    run: RunResult


def learner_cards(cards: Sequence[Card]) -> list[LearnerCard]:
    """Each card of the run as the learner reviews it: one per cloze number, the blank as "[...]"."""
    reviewed: list[LearnerCard] = []
    for card in cards:
        draft = card.draft
        if isinstance(draft, ClozeCard):
            back = cloze.strip_markers(draft.text)
            reviewed += [
                LearnerCard(
                    note=card.id, number=n, front=cloze.front_of(draft.text, n), back=back, extra=draft.extra
                )
                for n in cloze.numbers(draft.text) or [1]
            ]
        else:
            shown = written(draft)
            reviewed.append(LearnerCard(note=card.id, front=shown.front, back=shown.back, extra=shown.extra))
    return reviewed


async def evaluate(text: str, run: RunResult, settings: LLMSettings) -> Evaluation:
    """Judge the cards of `run`, made from `text`, with the model `settings` name."""
    usage = UsageMeter()
    llm = LLMClient(settings, usage=usage)
    judge = Judge(llm)
    try:
        cards = learner_cards(run.cards)
        ideas = await judge.ideas(text)
        batches = [cards[start : start + BATCH] for start in range(0, len(cards), BATCH)]
        replies = await asyncio.gather(
            *(judge.verdicts(text, ideas, cards[: BATCH * i], batch) for i, batch in enumerate(batches))
        )
    finally:
        await llm.aclose()
    judged = [JudgedCard(**card.model_dump()) for card in cards]
    for reply in replies:
        for verdict in reply.cards:
            if 1 <= verdict.card <= len(judged) and judged[verdict.card - 1].verdict is None:
                judged[verdict.card - 1] = judged[verdict.card - 1].model_copy(
                    update=verdict.model_dump(exclude={"card"})
                )
    summary = summarize(text, run, ideas, judged, usage.snapshot())
    return Evaluation(summary=summary, ideas=ideas, cards=judged, run=run)


def summarize(
    text: str, run: RunResult, ideas: Sequence[KeyIdea], cards: Sequence[JudgedCard], judge_usage: Usage
) -> Summary:
    order = list(CLASSES)
    worst: dict[str, Verdict] = {}
    for card in cards:
        if card.verdict is not None:
            known = worst.get(card.note)
            worst[card.note] = card.verdict if known is None else max(known, card.verdict, key=order.index)
    taught = {n for card in cards if card.verdict in GOOD for n in card.ideas}
    integrating = [n for n, idea in enumerate(ideas, start=1) if idea.integrating]
    return Summary(
        words=len(text.split()),
        notes=len({card.note for card in cards}),
        cards=len(cards),
        classes=dict(Counter(card.verdict for card in cards if card.verdict is not None)),
        note_classes=dict(Counter(worst.values())),
        defects=dict(Counter(defect for card in cards for defect in set(card.defects))),
        ideas=len(ideas),
        covered=len(taught & set(range(1, len(ideas) + 1))),
        integrating=len(integrating),
        integrating_covered=len(taught & set(integrating)),
        usage=run.usage,
        judge_usage=judge_usage,
    )


def _share(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.1f}%)" if total else f"{count}"

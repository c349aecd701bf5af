"""Cards in prompts, edits back onto cards.

Cards go to the model numbered from 1, one JSON object per line in the flat shape the agents write them in
(`WrittenCard`); the edits that come back name cards by those numbers and are applied in code, so a model
can rewrite, split or drop cards but never invent which card it is talking about.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..cards.cloze import has_markers
from ..models import BasicCard, CardDraft, CardEdit, ClozeCard, LintFinding, WrittenCard


def numbered(drafts: Sequence[CardDraft], findings: Sequence[Sequence[LintFinding]] | None = None) -> str:
    """One JSON object per line: the card's number, its fields, and under "lint" its findings if given."""
    lines = []
    for number, draft in enumerate(drafts, start=1):
        item: dict[str, object] = {"card": number, **written(draft).model_dump()}
        if findings is not None and findings[number - 1]:
            item["lint"] = [f"{f.lint_id}: {f.message}" for f in findings[number - 1]]
        lines.append(to_json(item))
    return "\n".join(lines)


def written(draft: CardDraft) -> WrittenCard:
    if isinstance(draft, BasicCard):
        return WrittenCard(kind="basic", front=draft.question, back=draft.answer, extra=draft.extra)
    return WrittenCard(kind="cloze", front=draft.text, back="", extra=draft.extra)


def to_draft(card: WrittenCard) -> CardDraft:
    """The card as the pipeline keeps it. The content decides when it contradicts `kind`: a front with
    deletions and no back is a cloze, a front without deletions but with a back is a basic card."""
    deletions, no_back = has_markers(card.front), not card.back.strip()
    if (deletions and no_back) or (card.kind == "cloze" and (deletions or no_back)):
        return ClozeCard(text=card.front, extra=card.extra)
    return BasicCard(question=card.front, answer=card.back, extra=card.extra)


def apply_edits(count: int, edits: Sequence[CardEdit]) -> list[tuple[int, CardDraft | None]]:
    """The cards after the edits, as (original index, new draft or None for "unchanged"), in original order.

    Edits naming no card of the batch, or a second edit of the same card, are ignored; a rewrite or split
    without cards keeps the card.
    """
    by_card: dict[int, CardEdit] = {}
    for edit in edits:
        if 1 <= edit.card <= count and edit.card not in by_card:
            by_card[edit.card] = edit
    result: list[tuple[int, CardDraft | None]] = []
    for index in range(count):
        chosen = by_card.get(index + 1)
        if chosen is None or (chosen.action != "drop" and not chosen.cards):
            result.append((index, None))
        elif chosen.action != "drop":
            result += [(index, to_draft(card)) for card in chosen.cards]
    return result


def to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)

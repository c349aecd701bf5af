"""Cards in prompts, edits back onto cards.

Cards go to the model numbered from 1, as JSON; the edits that come back name cards by those numbers and are
applied in code, so a model can rewrite, split or drop cards but never invent which card it is talking about.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..models import CardDraft, CardEdit, LintFinding


def numbered(drafts: Sequence[CardDraft], findings: Sequence[Sequence[LintFinding]] | None = None) -> str:
    """One JSON object per line: the card's number, its fields, and its lint findings if given."""
    lines = []
    for number, draft in enumerate(drafts, start=1):
        item: dict[str, object] = {"card": number, **draft.model_dump(exclude={"tags"})}
        if findings is not None and findings[number - 1]:
            item["lint"] = [f"{f.lint_id}: {f.message}" for f in findings[number - 1]]
        lines.append(to_json(item))
    return "\n".join(lines)


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
            result += [(index, draft) for draft in chosen.cards]
    return result


def to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)

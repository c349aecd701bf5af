"""A card rendered by Anki itself, as the learner will see it, before its note exists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from anki.collection import Collection

from .notetypes import Kind, ensure_notetype, field_ords


@dataclass(frozen=True)
class RenderedCard:
    question: str
    """The front's HTML, its note type's CSS included."""
    answer: str
    ord: int
    count: int
    """How many cards the note would make (several for a cloze with c1, c2…)."""


def render_card(col: Collection, kind: Kind, fields: Mapping[str, str], ord: int = 0) -> RenderedCard:
    """Card `ord` of a note of our note type of this `kind` with these fields (by our field names), rendered
    by Anki's template engine: cloze deletions expanded, our CSS. Creates the note type if it is missing."""
    notetype = ensure_notetype(col, kind, add_fields=False)
    note = col.new_note(notetype)
    for name, ord_ in field_ords(notetype, kind).items():
        note.fields[ord_] = fields.get(name, "")
    count = len(note.cloze_numbers_in_fields()) if kind == "cloze" else len(notetype["tmpls"])
    ord = min(ord, max(count - 1, 0))
    card = note.ephemeral_card(ord)
    return RenderedCard(question=card.question(), answer=card.answer(), ord=ord, count=max(count, 1))

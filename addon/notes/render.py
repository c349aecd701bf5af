"""Cards rendered by Anki itself, as the learner will see them: of a note not added yet (generated cards),
or of a note as it is or would be after a suggested change (reviews)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from anki.collection import Collection
from anki.consts import MODEL_CLOZE
from anki.notes import Note

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
    return render_note(note, ord)


def render_note(note: Note, ord: int = 0) -> RenderedCard:
    """Card `ord` of `note` as its fields are in memory (a new note, or an existing one changed but not
    saved), rendered with its own note type."""
    notetype = note.note_type()
    assert notetype is not None
    cloze = notetype["type"] == MODEL_CLOZE
    count = len(note.cloze_numbers_in_fields()) if cloze else len(notetype["tmpls"])
    ord = min(ord, max(count - 1, 0))
    card = note.ephemeral_card(ord)
    return RenderedCard(question=card.question(), answer=card.answer(), ord=ord, count=max(count, 1))

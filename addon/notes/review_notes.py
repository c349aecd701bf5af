"""Existing notes as they are read for a review: their mapped fields (field_map.py), when they were last
modified, their deck, and the text they were generated from when this add-on made them.

Plain dataclasses (no pydantic): the Browser reads notes before the pipeline is loaded. The journal of review
runs keeps them as they are (pydantic validates dataclasses), so a run can be applied or resumed later and a
note edited meanwhile is recognised (`apply_review.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from anki.collection import Collection
from anki.errors import NotFoundError
from anki.notes import Note, NoteId

from .field_map import FieldMap, Role
from .notetypes import Kind
from .provenance import source_note_ids
from .sources import TITLE_CHARS, home_deck, html_to_text, note_source

MAX_SOURCE_CHARS = 6_000
"""The most of a source note's text a review sends along with the notes made from it."""


@dataclass(frozen=True)
class NoteSnapshot:
    """One note as the review read it."""

    note_id: int
    mod: int
    """The note's modification time (seconds) when it was read."""
    notetype_id: int
    kind: Kind
    fields: dict[Role, str]
    """Each mapped field's HTML, by role."""
    field_names: dict[Role, str]
    deck_id: int
    title: str
    source: str = ""
    """The text of the note it was generated from (this add-on's `ai-source::` tag), if any."""
    source_id: int | None = None
    tags: list[str] = field(default_factory=list)


def read_notes(
    col: Collection, note_ids: Iterable[NoteId], maps: Mapping[int, FieldMap]
) -> list[NoteSnapshot]:
    """The notes in the order given; notes of a note type without a complete mapping, and notes whose
    mapped fields are all empty, are left out."""
    snapshots = []
    sources: dict[int, str] = {}
    for note_id in note_ids:
        note = col.get_note(note_id)
        mapping = maps.get(note.mid)
        if mapping is None or not mapping.complete:
            continue
        snapshot = snapshot_of(col, note, mapping, sources)
        if any(html_to_text(value) for value in snapshot.fields.values()):
            snapshots.append(snapshot)
    return snapshots


def snapshot_of(
    col: Collection, note: Note, mapping: FieldMap, sources: dict[int, str] | None = None
) -> NoteSnapshot:
    names = {role: name for role, name in mapping.fields.items() if name in note.keys()}
    fields = {role: note[name] for role, name in names.items()}
    source_id = next(iter(source_note_ids(col, [note.id])), None)
    source = _source_text(col, source_id, {} if sources is None else sources) if source_id else ""
    first = html_to_text(fields.get("question") or fields.get("text") or "")
    title = " ".join(first.split())
    return NoteSnapshot(
        note_id=note.id,
        mod=note.mod,
        notetype_id=note.mid,
        kind=mapping.kind,
        fields=fields,
        field_names=names,
        deck_id=home_deck(col, note.id) or 0,
        title=title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…",
        source=source,
        source_id=source_id if source else None,
        tags=list(note.tags),
    )


def _source_text(col: Collection, note_id: int, cache: dict[int, str]) -> str:
    """The source note's text (cut to MAX_SOURCE_CHARS), or "" when it no longer exists."""
    if note_id not in cache:
        try:
            text = note_source(col, col.get_note(NoteId(note_id))).text
        except NotFoundError:  # deleted since: the note is reviewed without it
            text = ""
        cache[note_id] = text[:MAX_SOURCE_CHARS]
    return cache[note_id]

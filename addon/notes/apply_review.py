"""A review's accepted suggestions written to the collection in one undo step, every card's history kept.

- A rewrite updates the note in place: only the mapped fields that change are written, so its cards keep
  their ids, due dates, intervals, ease or FSRS memory state and review log.
- A split adds new notes in the original's deck, tagged `ai-generated` and `ai-source::<original>`, with the
  original's own tags; in the original's note type when the cards are of its kind and it maps the note
  type's first field, else in this add-on's note type of that kind. The original is tagged
  `ai-review::split` and, if the learner chose, its cards are suspended; it is never deleted.
- A flag tags the note `ai-review::flagged`, for the learner to find it in the Browser.
- A note edited since the review read it (its modification time or a mapped field differs), deleted, or
  given another note type is refused with a message saying so; the other changes are applied.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from anki.cards import CardId
from anki.collection import AddNoteRequest, Collection, OpChanges
from anki.decks import DeckId
from anki.errors import NotFoundError
from anki.notes import Note, NoteId

from .field_map import OUR_FIELDS, REQUIRED, Role
from .insert import clean_tags, discard_step
from .notetypes import SOURCE_FIELD, Kind, ensure_notetype, field_ords
from .provenance import GENERATED_TAG, SOURCE_TAG_PREFIX, source_field, source_tag
from .review_notes import NoteSnapshot
from .sources import home_deck

UNDO_NAME = "Apply AI Review"
REVIEW_TAG = "ai-review"
REWRITTEN_TAG = f"{REVIEW_TAG}::rewritten"
SPLIT_TAG = f"{REVIEW_TAG}::split"
FLAGGED_TAG = f"{REVIEW_TAG}::flagged"


@dataclass(frozen=True)
class Rewrite:
    note: NoteSnapshot
    fields: Mapping[Role, str]
    """The new HTML of the mapped fields that change."""


@dataclass(frozen=True)
class NewNote:
    kind: Kind
    fields: Mapping[Role, str]


@dataclass(frozen=True)
class Split:
    note: NoteSnapshot
    notes: Sequence[NewNote]


@dataclass(frozen=True)
class Flag:
    note: NoteSnapshot


Change = Rewrite | Split | Flag


@dataclass
class Applied:
    changes: OpChanges
    applied: list[int] = field(default_factory=list)
    """The notes changed (rewritten, split or flagged)."""
    refused: dict[int, str] = field(default_factory=dict)
    """Notes left alone, with why."""
    added: dict[int, list[int]] = field(default_factory=dict)
    """The new notes of each split note."""


def apply_review(col: Collection, changes: Sequence[Change], *, suspend_split: bool = False) -> Applied:
    """Apply `changes` in one undo step named `UNDO_NAME`; if anything fails, the collection is left as it
    was. Notes edited since the review are refused (`Applied.refused`), the rest applied."""
    step = col.add_custom_undo_entry(UNDO_NAME)
    try:
        applied = _apply(col, changes, suspend_split)
    except BaseException:
        discard_step(col, step)
        raise
    if not applied.applied:
        discard_step(col, step)
        return applied
    applied.changes = col.merge_undo_entries(step)
    return applied


def _apply(col: Collection, changes: Sequence[Change], suspend_split: bool) -> Applied:
    result = Applied(changes=OpChanges())
    updated: list[Note] = []
    added: list[tuple[int, AddNoteRequest]] = []
    suspended: list[CardId] = []
    for change in changes:
        note, refusal = current_note(col, change.note)
        if note is None:
            result.refused[change.note.note_id] = refusal
            continue
        if isinstance(change, Rewrite):
            for role, value in change.fields.items():
                note[change.note.field_names[role]] = value
            note.add_tag(REWRITTEN_TAG)
        elif isinstance(change, Split):
            added += [(note.id, _added(col, note, change.note, new)) for new in change.notes]
            note.add_tag(SPLIT_TAG)
            if suspend_split:
                suspended += note.card_ids()
        else:
            note.add_tag(FLAGGED_TAG)
        updated.append(note)
        result.applied.append(note.id)
    if updated:
        col.update_notes(updated)
    if added:
        col.add_notes([request for _, request in added])
    for original, request in added:
        result.added.setdefault(original, []).append(request.note.id)
    if suspended:
        col.sched.suspend_cards(suspended)
    return result


def current_note(col: Collection, snapshot: NoteSnapshot) -> tuple[Note | None, str]:
    """The note as it is now, or None and why it must be left alone: deleted, another note type, or edited
    since the review read it."""
    name = f"“{snapshot.title}”" if snapshot.title else f"Note {snapshot.note_id}"
    try:
        note = col.get_note(NoteId(snapshot.note_id))
    except NotFoundError:
        return None, f"{name} was deleted since the review."
    if note.mid != snapshot.notetype_id:
        return None, f"{name} has another note type since the review; review it again."
    now = {role: note[field] for role, field in snapshot.field_names.items() if field in note.keys()}
    if note.mod != snapshot.mod or now != snapshot.fields:
        when = time.strftime("%b %d %H:%M", time.localtime(note.mod))
        return None, f"{name} was edited after the review ({when}); review it again to keep your edit."
    return note, ""


def _added(col: Collection, original: Note, snapshot: NoteSnapshot, new: NewNote) -> AddNoteRequest:
    deck = home_deck(col, original.id) or DeckId(snapshot.deck_id)
    return AddNoteRequest(note=split_note(col, original, snapshot, new), deck_id=deck)


def split_note(col: Collection, original: Note, snapshot: NoteSnapshot, new: NewNote) -> Note:
    """One of a split's new notes, not added yet (the review window renders it as it will be)."""
    notetype = original.note_type()
    assert notetype is not None
    first_field = notetype["flds"][0]["name"]
    own_type = (
        new.kind == snapshot.kind
        and all(role in snapshot.field_names for role in REQUIRED[new.kind])
        and first_field in snapshot.field_names.values()
    )
    if own_type:
        note = col.new_note(notetype)
        for role, value in new.fields.items():
            if role in snapshot.field_names:
                note[snapshot.field_names[role]] = value
    else:
        ours = ensure_notetype(col, new.kind, add_fields=False)
        ords = field_ords(ours, new.kind)
        note = col.new_note(ours)
        for role, value in new.fields.items():
            if OUR_FIELDS[role] in ords:
                note.fields[ords[OUR_FIELDS[role]]] = value
        if SOURCE_FIELD in ords:
            note.fields[ords[SOURCE_FIELD]] = source_field(snapshot.title, original.id)
    ours_tags = (SOURCE_TAG_PREFIX.casefold(), REVIEW_TAG.casefold())
    inherited = [tag for tag in original.tags if not tag.casefold().startswith(ours_tags)]
    note.tags = clean_tags([*inherited, GENERATED_TAG, source_tag(original.id)])
    return note

"""Adding generated cards to a collection: one undo step, all or nothing, no duplicate notes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anki.collection import AddNoteRequest, Collection, OpChanges
from anki.decks import DeckId
from anki.models import NotetypeDict
from anki.notes import Note, NoteId

from .duplicates import duplicate_key, existing_keys
from .notetypes import SOURCE_FIELD, SPECS, Kind, ensure_notetype, field_ords
from .provenance import GENERATED_TAG, source_field, source_tag

if TYPE_CHECKING:
    from ..pipeline.models import Card

UNDO_NAME = "Generate Cards"

_TAG_UNSAFE = re.compile(r'[\s"\x00-\x1f\x7f]+')


@dataclass(frozen=True)
class Origin:
    """What a card's note says about its source: the title, and the source note and its deck if any."""

    title: str
    note_id: int | None = None
    deck_id: DeckId | None = None


class MissingDeck(LookupError):
    """A target deck is gone; str() says so in words that follow "No cards were added: "."""


@dataclass
class AddResult:
    changes: OpChanges
    note_ids: dict[str, NoteId]
    """The new note of each added card, by card id."""
    skipped_card_ids: tuple[str, ...]

    @property
    def added(self) -> int:
        return len(self.note_ids)

    @property
    def skipped(self) -> int:
        return len(self.skipped_card_ids)


def add_cards(
    col: Collection,
    cards: Sequence[Card],
    *,
    deck_id: DeckId,
    tags: Sequence[str] = (),
    origins: Mapping[int | None, Origin] | None = None,
    add_fields: bool = True,
) -> AddResult:
    """Add `cards` as notes of our note types (created if missing) in one undo step named `UNDO_NAME`.

    `origins` maps a source note id (None for pasted text) to what the notes say about their source; a card
    whose origin has a deck goes there, the others to `deck_id`. A card whose first field matches a note of
    its note type, or an earlier card, is skipped. If anything fails, the collection is left as it was.
    A deck deleted since it was chosen is a MissingDeck error: Anki would put the cards into "Default"
    without a word. `add_fields` lets an older note type of ours get the fields this version adds (a schema
    change).
    """
    origins = origins or {}
    decks = {_deck_of(card, deck_id, origins) for card in cards}
    if missing := [deck for deck in decks if col.decks.get(deck, default=False) is None]:
        raise MissingDeck(
            "the deck chosen for them no longer exists; choose a deck and add them again"
            if deck_id in missing
            else "the deck of one of their source notes no longer exists; add them to a chosen deck instead"
        )
    step = col.add_custom_undo_entry(UNDO_NAME)
    try:
        requests, skipped = _plan(col, cards, deck_id, tags, origins, add_fields)
        if requests:
            col.add_notes([request for _, request in requests])
    except BaseException:
        discard_step(col, step)
        raise
    return AddResult(
        changes=col.merge_undo_entries(step),
        note_ids={card_id: request.note.id for card_id, request in requests},
        skipped_card_ids=tuple(skipped),
    )


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags Anki accepts: no spaces, quotes, control characters or empty `::` parts; first spelling wins."""
    cleaned: dict[str, str] = {}
    for tag in tags:
        parts = (_TAG_UNSAFE.sub("_", part.strip()).strip("_") for part in tag.split("::"))
        if name := "::".join(part for part in parts if part):
            cleaned.setdefault(name.casefold(), name)
    return list(cleaned.values())


@dataclass
class _Target:
    """One of our note types, where a card's fields go in it, and the duplicate keys seen so far."""

    notetype: NotetypeDict
    ords: dict[str, int]
    key_ord: int
    keys: set[str]


def _target(col: Collection, kind: Kind, add_fields: bool) -> _Target:
    notetype = ensure_notetype(col, kind, add_fields=add_fields)
    ords = field_ords(notetype, kind)
    return _Target(notetype, ords, ords.get(SPECS[kind].fields[0], 0), existing_keys(col, kind))


def _plan(
    col: Collection,
    cards: Sequence[Card],
    deck_id: DeckId,
    tags: Sequence[str],
    origins: Mapping[int | None, Origin],
    add_fields: bool,
) -> tuple[list[tuple[str, AddNoteRequest]], list[str]]:
    targets: dict[Kind, _Target] = {}
    requests: list[tuple[str, AddNoteRequest]] = []
    skipped: list[str] = []
    for card in cards:
        kind = card.draft.kind
        if kind not in targets:
            targets[kind] = _target(col, kind, add_fields)
        target = targets[kind]
        origin = origins.get(card.provenance.source_note_id)
        note = _note(col, target, card, tags, origin)
        key = duplicate_key(note.fields[target.key_ord])
        if key and key in target.keys:
            skipped.append(card.id)
        else:
            target.keys.add(key)
            requests.append((card.id, AddNoteRequest(note=note, deck_id=_deck_of(card, deck_id, origins))))
    return requests, skipped


def _deck_of(card: Card, deck_id: DeckId, origins: Mapping[int | None, Origin]) -> DeckId:
    """The deck of the card's source note when its cards go there, else `deck_id`."""
    origin = origins.get(card.provenance.source_note_id)
    return origin.deck_id if origin is not None and origin.deck_id else deck_id


def _note(col: Collection, target: _Target, card: Card, tags: Sequence[str], origin: Origin | None) -> Note:
    note = col.new_note(target.notetype)
    fields = dict(card.fields or _render(card))
    source = card.provenance.source_note_id
    if origin is not None:
        fields[SOURCE_FIELD] = source_field(origin.title, source)
    for name, value in fields.items():
        if name in target.ords:
            note.fields[target.ords[name]] = value
    source_tags = [source_tag(source)] if source is not None else []
    note.tags = clean_tags([*card.draft.tags, GENERATED_TAG, *source_tags, *tags])
    return note


def _render(card: Card) -> dict[str, str]:
    """Fields for a card the Formatter has not rendered (e.g. one read from a file)."""
    from ..pipeline.cards.formatting import note_fields

    return note_fields(card.draft)


def discard_step(col: Collection, step: int) -> None:
    """Undo whatever part of the step was done. A failed backend call has already emptied the undo queue."""
    if col.undo_status().last_step >= step:
        col.merge_undo_entries(step)
        col.undo()

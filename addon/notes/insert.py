"""Adding generated cards to a collection: one undo step, all or nothing, no duplicate notes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anki.collection import AddNoteRequest, Collection, OpChanges
from anki.decks import DeckId
from anki.models import NotetypeDict
from anki.notes import Note, NoteId
from anki.utils import split_fields

from .notetypes import SPECS, Kind, ensure_notetype, field_ords

if TYPE_CHECKING:
    from ..pipeline.models import Card

UNDO_NAME = "Generate Cards"
GENERATED_TAG = "ai-generated"
SOURCE_TAG_PREFIX = "ai-source::"

_HTML_TAG = re.compile(r"<[^>]*>")
_TAG_UNSAFE = re.compile(r'[\s"\x00-\x1f\x7f]+')


class MissingDeck(LookupError):
    """The target deck is gone; str() says so in words that follow "No cards were added: "."""


@dataclass
class AddResult:
    changes: OpChanges
    note_ids: tuple[NoteId, ...]
    skipped_card_ids: tuple[str, ...]

    @property
    def added(self) -> int:
        return len(self.note_ids)

    @property
    def skipped(self) -> int:
        return len(self.skipped_card_ids)


def add_cards(
    col: Collection, cards: Sequence[Card], *, deck_id: DeckId, tags: Sequence[str] = ()
) -> AddResult:
    """Add `cards` as notes of our note types (created if missing) in one undo step named `UNDO_NAME`.

    A card whose first field matches a note of its note type, or an earlier card, is skipped. If anything
    fails, the collection is left as it was. A deck deleted since it was chosen is a MissingDeck error:
    Anki would put the cards into "Default" without a word.
    """
    if col.decks.get(deck_id, default=False) is None:
        raise MissingDeck("the deck chosen for them no longer exists; choose a deck and add them again")
    step = col.add_custom_undo_entry(UNDO_NAME)
    try:
        requests, skipped = _plan(col, cards, deck_id, tags)
        if requests:
            col.add_notes(requests)
    except BaseException:
        _discard_step(col, step)
        raise
    return AddResult(
        changes=col.merge_undo_entries(step),
        note_ids=tuple(request.note.id for request in requests),
        skipped_card_ids=tuple(skipped),
    )


def normalize_first_field(text: str) -> str:
    """The key for duplicates: text without HTML, entities resolved, whitespace collapsed, no case."""
    return " ".join(html.unescape(_HTML_TAG.sub(" ", text)).split()).casefold()


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


def _target(col: Collection, kind: Kind) -> _Target:
    notetype = ensure_notetype(col, kind)
    ords = field_ords(notetype, kind)
    key_ord = ords.get(SPECS[kind].fields[0], 0)
    assert col.db is not None  # an open collection
    stored = col.db.list("select flds from notes where mid = ?", notetype["id"])
    keys = {normalize_first_field(split_fields(flds)[key_ord]) for flds in stored}
    return _Target(notetype, ords, key_ord, keys)


def _plan(
    col: Collection, cards: Sequence[Card], deck_id: DeckId, tags: Sequence[str]
) -> tuple[list[AddNoteRequest], list[str]]:
    targets: dict[Kind, _Target] = {}
    requests: list[AddNoteRequest] = []
    skipped: list[str] = []
    for card in cards:
        kind = card.draft.kind
        if kind not in targets:
            targets[kind] = _target(col, kind)
        target = targets[kind]
        note = _note(col, target, card, tags)
        key = normalize_first_field(note.fields[target.key_ord])
        if key in target.keys:
            skipped.append(card.id)
        else:
            target.keys.add(key)
            requests.append(AddNoteRequest(note=note, deck_id=deck_id))
    return requests, skipped


def _note(col: Collection, target: _Target, card: Card, tags: Sequence[str]) -> Note:
    note = col.new_note(target.notetype)
    for name, value in (card.fields or _render(card)).items():
        if name in target.ords:
            note.fields[target.ords[name]] = value
    source = card.provenance.source_note_id
    source_tags = [f"{SOURCE_TAG_PREFIX}{source}"] if source is not None else []
    note.tags = clean_tags([*card.draft.tags, GENERATED_TAG, *source_tags, *tags])
    return note


def _render(card: Card) -> dict[str, str]:
    """Fields for a card the Formatter has not rendered (e.g. one read from a file)."""
    from ..pipeline.cards.formatting import note_fields

    return note_fields(card.draft)


def _discard_step(col: Collection, step: int) -> None:
    """Undo whatever part of the step was done. A failed backend call has already emptied the undo queue."""
    if col.undo_status().last_step >= step:
        col.merge_undo_entries(step)
        col.undo()

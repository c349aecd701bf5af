"""Notes as sources to generate from: their fields as readable text, a title, the deck their cards are in.

Plain dataclasses (no pydantic): the Browser and the editor read notes before the pipeline is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anki.collection import Collection
from anki.decks import DeckId
from anki.notes import Note, NoteId
from bs4 import BeautifulSoup

from ..pipeline.cards.cloze import strip_markers

TITLE_CHARS = 80

_BLOCK_TAGS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "ul", "ol")
_DROPPED_TAGS = ("img", "audio", "video", "object", "embed", "iframe", "script", "style", "svg")
_SOUND = re.compile(r"\[sound:[^\]]*\]")


@dataclass(frozen=True)
class NoteSource:
    """One note to generate from. `note_id` is None for a note not added yet (the Add window)."""

    note_id: NoteId | None
    title: str
    text: str
    deck_id: DeckId | None = None


def html_to_text(html: str) -> str:
    """A field's HTML as readable text: line breaks kept, media references and cloze markers dropped."""
    soup = BeautifulSoup(_SOUND.sub(" ", html), "html.parser")
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = strip_markers(soup.get_text())
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def source_from_fields(
    names: Sequence[str],
    values: Sequence[str],
    *,
    note_id: NoteId | None = None,
    deck_id: DeckId | None = None,
) -> NoteSource:
    """A source from a note's field names and HTML values: "Name: text" per non-empty field."""
    texts = [(name, html_to_text(value)) for name, value in zip(names, values, strict=False)]
    filled = [(name, text) for name, text in texts if text]
    body = "\n\n".join(f"{name}: {text}" for name, text in filled)
    title = next((text for _, text in filled), "")
    return NoteSource(note_id=note_id, title=_title(title), text=body, deck_id=deck_id)


def note_source(col: Collection, note: Note) -> NoteSource:
    names = col.models.field_names(note.note_type() or {"flds": []})
    deck_id = home_deck(col, note.id) if note.id else None
    return source_from_fields(names, note.fields, note_id=note.id or None, deck_id=deck_id)


def note_sources(col: Collection, note_ids: Iterable[NoteId]) -> list[NoteSource]:
    """The notes as sources, in the order given; notes without text are left out."""
    sources = [note_source(col, col.get_note(note_id)) for note_id in note_ids]
    return [source for source in sources if source.text]


def home_deck(col: Collection, note_id: NoteId) -> DeckId | None:
    """The deck of the note's first card (its home deck if the card is in a filtered deck)."""
    assert col.db is not None
    did = col.db.scalar(
        "select case when odid then odid else did end from cards where nid = ? order by ord limit 1", note_id
    )
    return DeckId(did) if did else None


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"

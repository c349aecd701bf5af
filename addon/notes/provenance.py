"""Where a generated note came from, and how to get from one to the other in the Browser.

Every generated note has the tag `ai-generated`. One made from a note also has the tag
`ai-source::<note id>` (searchable both ways, even where the Source field is missing), and its Source field
says in words where it came from: the note's title and `nid:<id>`, or the title given to pasted text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from anki.collection import Collection
from anki.notes import NoteId

GENERATED_TAG = "ai-generated"
SOURCE_TAG_PREFIX = "ai-source::"
_SOURCE_TAG = re.compile(re.escape(SOURCE_TAG_PREFIX) + r"(\d+)$", re.IGNORECASE)


def source_tag(note_id: int) -> str:
    return f"{SOURCE_TAG_PREFIX}{note_id}"


def source_field(title: str, note_id: int | None) -> str:
    """The Source field's HTML, e.g. `Relative Strength Index (nid:1712345678901)`."""
    label = html.escape(title.strip()) or ("A note" if note_id is not None else "Pasted text")
    return f"{label} (nid:{note_id})" if note_id is not None else label


def generated_from_search(note_ids: Iterable[int]) -> str:
    """A Browser search for the notes generated from these notes."""
    return " OR ".join(f'"tag:{source_tag(note_id)}"' for note_id in note_ids)


def source_notes_search(note_ids: Sequence[int]) -> str:
    """A Browser search for these notes (the sources of generated notes)."""
    return f"nid:{','.join(str(note_id) for note_id in note_ids)}"


def source_note_ids(col: Collection, generated: Iterable[NoteId]) -> list[NoteId]:
    """The source notes of these generated notes, from their tags, in order and without repeats."""
    found: dict[NoteId, None] = {}
    for note_id in generated:
        for tag in col.get_note(note_id).tags:
            if match := _SOURCE_TAG.match(tag):
                found[NoteId(int(match.group(1)))] = None
    return list(found)

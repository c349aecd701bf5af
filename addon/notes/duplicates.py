"""Which cards would duplicate a note already in the collection: same note type, same first field, compared
the way the lints compare cards (cloze markers, markup, punctuation and case ignored)."""

from __future__ import annotations

import html
import re

from anki.collection import Collection
from anki.utils import split_fields

from ..pipeline.cards.cloze import strip_markers
from .notetypes import SPECS, Kind, field_ords, find_notetype

_TAG = re.compile(r"<[^>]*>")
_NOT_WORD = re.compile(r"[\W_]+")


def duplicate_key(field_html: str) -> str:
    """A first field as compared for duplicates; empty when nothing is left to compare."""
    text = html.unescape(_TAG.sub(" ", strip_markers(field_html)))
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def existing_keys(col: Collection, kind: Kind) -> set[str]:
    """The duplicate keys of the notes of our note type of this kind (none if it doesn't exist yet)."""
    notetype = find_notetype(col, kind)
    if notetype is None:
        return set()
    key_ord = field_ords(notetype, kind).get(SPECS[kind].fields[0], 0)
    assert col.db is not None  # an open collection
    stored = col.db.list("select flds from notes where mid = ?", notetype["id"])
    return {key for flds in stored if (key := duplicate_key(split_fields(flds)[key_ord]))}

"""The Anki side of the add-on: our note types, adding cards, .apkg export, notes as sources, provenance,
duplicates and rendering. Imports `anki`, never `aqt`."""

from __future__ import annotations

from .insert import AddResult, Origin, add_cards
from .notetypes import ensure_notetype
from .package import write_apkg

__all__ = ["AddResult", "Origin", "add_cards", "ensure_notetype", "write_apkg"]

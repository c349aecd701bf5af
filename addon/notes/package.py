"""Cards as an .apkg file, built in a throwaway collection so no Anki profile is needed (the CLI uses it)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anki.collection import Collection, DeckIdLimit, ExportAnkiPackageOptions

from .insert import add_cards

if TYPE_CHECKING:
    from ..pipeline.models import Card


def write_apkg(cards: Sequence[Card], path: Path, *, deck_name: str) -> int:
    """Write `cards` into deck `deck_name` of a new package at `path`; returns the number of notes in it."""
    with tempfile.TemporaryDirectory(prefix="aicg-apkg-") as tmp:
        col = Collection(str(Path(tmp) / "collection.anki2"))
        try:
            deck_id = col.decks.id(deck_name)
            assert deck_id is not None
            add_cards(col, cards, deck_id=deck_id)
            return col.export_anki_package(
                out_path=str(path.resolve()),
                options=ExportAnkiPackageOptions(
                    with_scheduling=False, with_deck_configs=False, with_media=False, legacy=False
                ),
                limit=DeckIdLimit(deck_id),
            )
        finally:
            col.close()

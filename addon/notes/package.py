"""Cards as an .apkg file, built in a throwaway collection so no Anki profile is needed (the CLI uses it).

Anki matches an imported note type by id. Ids are creation times, so each package would bring its own copy
("AI Card Generator Basic+", "++", …); in the throwaway collection our note types are therefore moved to the
fixed `package_id`s first, and every package shares them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anki.collection import Collection, DeckIdLimit, ExportAnkiPackageOptions

from .insert import add_cards
from .notetypes import SPECS, ensure_notetype

if TYPE_CHECKING:
    from ..pipeline.models import Card


def write_apkg(cards: Sequence[Card], path: Path, *, deck_name: str) -> int:
    """Write `cards` into deck `deck_name` of a new package at `path`; returns the number of notes in it."""
    with tempfile.TemporaryDirectory(prefix="aicg-apkg-") as tmp:
        col = Collection(str(Path(tmp) / "collection.anki2"))
        try:
            _use_package_ids(col)
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


def _use_package_ids(col: Collection) -> None:
    """Create our note types under their fixed ids. Only for a new, throwaway collection: it edits tables."""
    db = col.db
    assert db is not None  # an open collection
    for kind, spec in SPECS.items():
        old = ensure_notetype(col, kind)["id"]
        db.execute("update notetypes set id = ? where id = ?", spec.package_id, old)
        db.execute("update fields set ntid = ? where ntid = ?", spec.package_id, old)
        db.execute("update templates set ntid = ? where ntid = ?", spec.package_id, old)

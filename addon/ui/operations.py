"""Collection writes the dialogs start, in Anki's `aqt.operations` style: unstarted `CollectionOp`s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from anki.decks import DeckId
from aqt.operations import CollectionOp
from aqt.qt import QWidget

from ..notes.insert import AddResult, add_cards

if TYPE_CHECKING:
    from ..pipeline.models import Card


def add_cards_op(
    *, parent: QWidget, cards: Sequence[Card], deck_id: DeckId, tags: Sequence[str] = ()
) -> CollectionOp[AddResult]:
    return CollectionOp(parent, lambda col: add_cards(col, cards, deck_id=deck_id, tags=tags))

"""Collection writes the dialogs start, in Anki's `aqt.operations` style: unstarted `CollectionOp`s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from anki.collection import OpChanges
from anki.decks import DeckId
from aqt.operations import CollectionOp
from aqt.qt import QWidget

from ..notes.apply_review import Applied, Change, apply_review
from ..notes.insert import AddResult, Origin, add_cards
from ..notes.notetypes import prepare_notetypes

if TYPE_CHECKING:
    from ..pipeline.models import Card


def add_cards_op(
    *,
    parent: QWidget,
    cards: Sequence[Card],
    deck_id: DeckId,
    tags: Sequence[str] = (),
    origins: Mapping[int | None, Origin] | None = None,
    add_fields: bool = True,
) -> CollectionOp[AddResult]:
    return CollectionOp(
        parent,
        lambda col: add_cards(col, cards, deck_id=deck_id, tags=tags, origins=origins, add_fields=add_fields),
    )


def prepare_notetypes_op(*, parent: QWidget) -> CollectionOp[OpChanges]:
    """Create or refresh our note types, so that cards can be previewed without a write mid-run."""
    return CollectionOp(parent, prepare_notetypes)


def apply_review_op(
    *, parent: QWidget, changes: Sequence[Change], suspend_split: bool = False
) -> CollectionOp[Applied]:
    """A review's accepted suggestions, in one undo step; notes edited since the review are refused."""
    return CollectionOp(parent, lambda col: apply_review(col, changes, suspend_split=suspend_split))

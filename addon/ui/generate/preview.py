"""The generate preview's rows: draft cards shown in `RowsModel` columns, their fields as the editor shows
them, and the duplicate flag against the collection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ...notes.duplicates import duplicate_key
from .table import Column, RowsModel

if TYPE_CHECKING:
    from ...drafts import DraftCard
    from ...notes.notetypes import Kind
    from ...pipeline.models import CardDraft

EDITOR_FIELDS = {
    "basic": {"Question": "question", "Answer": "answer", "Extra": "extra"},
    "cloze": {"Text": "text", "Extra": "extra"},
}
"""Field names in the editor → the draft's attributes, per kind of card."""

NOTE_FIRST_FIELD = {"basic": "Front", "cloze": "Text"}


def editor_fields(draft: CardDraft) -> dict[str, str]:
    return {name: getattr(draft, attribute) for name, attribute in EDITOR_FIELDS[draft.kind].items()}


def with_editor_fields(draft: CardDraft, fields: Mapping[str, str]) -> CardDraft:
    names = EDITOR_FIELDS[draft.kind]
    return draft.model_copy(update={names[name]: text for name, text in fields.items() if name in names})


class Duplicates:
    """The first fields of the notes already in the collection, by kind of card (loaded in the background)."""

    def __init__(self, keys: Mapping[Kind, set[str]] | None = None) -> None:
        self.keys = dict(keys or {})

    def of(self, draft: DraftCard) -> bool:
        card = draft.card
        front = card.fields.get(NOTE_FIRST_FIELD[card.draft.kind], "")
        key = duplicate_key(front)
        return bool(key) and key in self.keys.get(card.draft.kind, set())


def _front(draft: DraftCard) -> str:
    card = draft.card.draft
    return card.question if card.kind == "basic" else card.text


def _back(draft: DraftCard) -> str:
    card = draft.card.draft
    return card.answer if card.kind == "basic" else card.extra


def _flags(draft: DraftCard) -> str:
    lints = draft.card.lints
    marks = (["edited"] if draft.edited else []) + ([f"⚠ {len(lints)}"] if lints else [])
    return " ".join(marks)


def _flag_details(draft: DraftCard) -> str:
    return "\n".join(f"• {finding.message}" for finding in draft.card.lints)


def draft_columns(
    duplicates: Duplicates, source_title: Callable[[DraftCard], str]
) -> list[Column[DraftCard]]:
    return [
        Column("Kind", lambda d: d.card.draft.kind.capitalize(), chars=6),
        Column("Front / Text", _front, tooltip=_front, stretch=True),
        Column("Back", _back, tooltip=_back, stretch=True),
        Column("Flags", _flags, tooltip=_flag_details, chars=6),
        Column(
            "Duplicate",
            lambda d: "duplicate" if duplicates.of(d) else "",
            tooltip=lambda d: (
                "A note with this front is in your collection: Add skips it." if duplicates.of(d) else ""
            ),
        ),
        Column("Source", source_title, tooltip=source_title, chars=18),
    ]


def draft_model(duplicates: Duplicates, source_title: Callable[[DraftCard], str]) -> RowsModel[DraftCard]:
    def set_accepted(draft: DraftCard, accepted: bool) -> None:
        draft.accepted = accepted

    return RowsModel(
        draft_columns(duplicates, source_title),
        is_checked=lambda draft: draft.accepted,
        set_checked=set_accepted,
        is_dimmed=lambda draft: not draft.accepted,
    )

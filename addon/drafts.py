"""The cards of one generate run as the learner works on them, journaled at every change (journal.py).

A `DraftRun` is what the generate dialog shows: the run's sources, each card with whether it is accepted,
edited, added or skipped as a duplicate, and how the run ended. `DraftSession` pairs it with the journal:
each change goes to disk (in the background), so closing the window, Stop, a crash or quitting Anki loses
nothing, and reopening the dialog offers the runs that still have cards to add. No aqt: the dialog drives it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .journal import Journal, JournalEntry, Session
from .pipeline.models import Card, RunResult, Source
from .pipeline.settings import MathSetting

KIND = "generate"
KEEP_RUNS = 20
"""The journal keeps this many runs; older ones are pruned."""

RunStatus = Literal["running", "finished", "stopped", "failed", "interrupted"]
Outcome = Literal["added", "duplicate"]


class DraftCard(BaseModel):
    card: Card
    batch: tuple[int, int] | None = None
    """The (source, topic) batch the card streamed in with; a batch sent again replaces its cards."""
    accepted: bool = True
    edited: bool = False
    outcome: Outcome | None = None
    """Set once the card went to Anki: added as a note, or skipped as a duplicate."""
    note_id: int | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None


class DraftRun(BaseModel):
    title: str
    sources: list[Source]
    math: MathSetting = "source"
    """The run's math setting: with the sources, what its cards may keep of math (`MarkupPolicy`)."""
    deck_id: int | None = None
    note_decks: dict[int, int] = Field(default_factory=dict)
    """Each source note's deck, when its cards go there rather than to `deck_id`."""
    status: RunStatus = "running"
    message: str = ""
    started: float = Field(default_factory=time.time)
    cards: list[DraftCard] = Field(default_factory=list)

    def pending(self) -> list[DraftCard]:
        """Cards not added yet (accepted or not)."""
        return [draft for draft in self.cards if not draft.done]

    def to_add(self) -> list[DraftCard]:
        return [draft for draft in self.cards if draft.accepted and not draft.done]

    def source_of(self, card: Card) -> Source:
        """The source a card came from: its note, else the run's first source (pasted text)."""
        note_id = card.provenance.source_note_id
        return next((s for s in self.sources if s.note_id == note_id), self.sources[0])

    def put_batch(self, batch: tuple[int, int], cards: Sequence[Card]) -> None:
        """Add a finished batch in run order; a batch sent again replaces the cards the learner left alone."""
        old = {draft.card.id: draft for draft in self.cards if draft.batch == batch}
        new = [_refreshed(old.get(card.id), card, batch) for card in cards]
        kept = [draft for draft in self.cards if draft.batch != batch]
        at = next((i for i, d in enumerate(kept) if d.batch is not None and d.batch > batch), len(kept))
        self.cards = [*kept[:at], *new, *kept[at:]]

    def finish(self, result: RunResult, status: RunStatus, message: str) -> None:
        """The run is over: the result brings lints redone across all cards, and any card not streamed."""
        final = {card.id: card for card in result.cards}
        for draft in self.cards:
            if (card := final.pop(draft.card.id, None)) is not None and not draft.edited:
                draft.card = card
        self.cards += [DraftCard(card=card) for card in final.values()]
        self.status, self.message = status, message

    def replace(self, regenerated: RunResult) -> list[int]:
        """Put a regeneration's cards in place of the cards they replace; returns the new cards' rows."""
        by_original: dict[str, list[Card]] = {}
        for card in regenerated.cards:
            by_original.setdefault(card.replaces or card.id, []).append(
                card.model_copy(update={"replaces": None})
            )
        cards: list[DraftCard] = []
        rows: list[int] = []
        for draft in self.cards:
            for card in by_original.get(draft.card.id, []) if not draft.done else []:
                rows.append(len(cards))
                cards.append(DraftCard(card=card, batch=draft.batch, accepted=draft.accepted))
            if draft.done or draft.card.id not in by_original:
                cards.append(draft)
        self.cards = cards
        return rows

    def mark_added(self, note_ids: Mapping[str, int], duplicates: Iterable[str]) -> None:
        skipped = set(duplicates)
        for draft in self.cards:
            if draft.card.id in note_ids:
                draft.outcome, draft.note_id = "added", note_ids[draft.card.id]
            elif draft.card.id in skipped:
                draft.outcome = "duplicate"


def _refreshed(old: DraftCard | None, card: Card, batch: tuple[int, int]) -> DraftCard:
    if old is None:
        return DraftCard(card=card, batch=batch)
    if old.edited or old.done:
        return old
    return old.model_copy(update={"card": card})


@functools.cache
def drafts_journal(user_files: Path) -> Journal[DraftRun]:
    """The journal of generate runs under `user_files/drafts/`: one per folder, shared by every dialog."""
    return Journal(user_files / "drafts", kind=KIND, payload=DraftRun, keep=KEEP_RUNS)


class DraftSession(Session[DraftRun]):
    """One run's drafts and their journal entry: every change is saved."""

    @classmethod
    def resume(cls, journal: Journal[DraftRun], entry: JournalEntry[DraftRun]) -> DraftSession:
        """A journaled run opened again; one that was still running when Anki stopped is "interrupted"."""
        if entry.payload.status == "running":
            entry.payload.status = "interrupted"
            entry.payload.message = "This run was interrupted; the cards below were finished before that."
        return cls(journal, entry.payload, entry.id)


def unfinished(entries: Iterable[JournalEntry[DraftRun]]) -> list[JournalEntry[DraftRun]]:
    """Runs that still have cards to add, newest first."""
    return [entry for entry in entries if entry.payload.pending()]

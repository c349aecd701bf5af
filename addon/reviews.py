"""The notes of one review run as the learner works on them, journaled at every change (journal.py), as
generate runs are (drafts.py).

A `ReviewRun` is what the review window shows: each note as it was read (`NoteSnapshot`), the verdict the
agents gave it once they have, whether the learner accepted or edited the suggestion, and whether it was
applied or refused. Closing the window, Stop, a crash or quitting Anki loses nothing: reopening offers the
runs with notes not reviewed yet or suggestions not applied yet, and a run's notes not reviewed yet can be
reviewed later (resume). No aqt: the window drives it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .drafts import RunStatus
from .journal import Journal, JournalEntry, Session
from .notes.apply_review import Applied, Change, Flag, NewNote, Rewrite, Split
from .notes.field_map import Role
from .notes.review_notes import NoteSnapshot
from .pipeline.cards.anki_markup import MarkupPolicy
from .pipeline.cards.formatting import format_card
from .pipeline.cards.from_html import html_to_markdown
from .pipeline.cards.in_place import why_not_in_place
from .pipeline.models import Action, Card, ExistingNote, NoteCard, ReviewVerdict
from .pipeline.settings import MathSetting

KIND = "review"
KEEP_RUNS = 20

Outcome = Literal["applied", "refused"]

ROLE_OF_FIELD: dict[str, Role] = {"Front": "question", "Back": "answer", "Text": "text", "Extra": "extra"}
"""Our note types' field names (what the Formatter fills in a card) → the roles of a mapped note type."""
CARD_ATTRIBUTE: dict[Role, str] = {"question": "front", "text": "front", "answer": "back", "extra": "extra"}
"""Each role's attribute of a `NoteCard`."""


class ReviewRow(BaseModel):
    note: NoteSnapshot
    verdict: ReviewVerdict | None = None
    """None until the agents reviewed the note."""
    accepted: bool = False
    edits: list[NoteCard] | None = None
    """The suggestion as the learner edited it (one card: a rewrite; several: a split)."""
    outcome: Outcome | None = None
    message: str = ""
    """Why the note was refused when the suggestion was applied."""
    added: list[int] = Field(default_factory=list)
    """The notes a split added."""

    @property
    def done(self) -> bool:
        return self.outcome == "applied"

    @property
    def edited(self) -> bool:
        return self.edits is not None

    @property
    def action(self) -> Action | None:
        """What applying does: the verdict's action, or the learner's edit (a rewrite or a split)."""
        if self.edits is not None:
            text = self.note.fields.get("text", "")
            if len(self.edits) == 1 and not why_not_in_place(self.edits[0], self.note.kind, text):
                return "rewrite"
            return "split"
        return self.verdict.action if self.verdict is not None else None

    @property
    def suggests_change(self) -> bool:
        return self.action not in (None, "keep")

    def suggestion(self, markup: MarkupPolicy) -> list[Card]:
        """The suggested cards, formatted: the learner's edit, else the verdict's."""
        if self.edits is not None:
            return [
                format_card(Card(id=f"edit{n}", draft=e.draft()), markup) for n, e in enumerate(self.edits)
            ]
        return list(self.verdict.cards) if self.verdict is not None else []


class ReviewRun(BaseModel):
    title: str
    math: MathSetting = "source"
    status: RunStatus = "running"
    message: str = ""
    started: float = Field(default_factory=time.time)
    rows: list[ReviewRow] = Field(default_factory=list)

    def unreviewed(self) -> list[ReviewRow]:
        return [row for row in self.rows if row.verdict is None]

    def pending(self) -> list[ReviewRow]:
        """Notes still to review, and suggestions not applied yet."""
        return [row for row in self.rows if not row.done and (row.verdict is None or row.suggests_change)]

    def to_apply(self) -> list[ReviewRow]:
        return [row for row in self.rows if row.accepted and not row.done and row.suggests_change]

    def put(self, verdicts: Iterable[ReviewVerdict], *, replace_edited: bool = False) -> list[int]:
        """Each verdict onto its note's row (a row edited or applied keeps its own unless `replace_edited`);
        rewrites and splits start accepted, flags do not: the learner decides. Returns the rows changed."""
        numbers = {row.note.note_id: number for number, row in enumerate(self.rows)}
        changed = []
        for verdict in verdicts:
            number = numbers.get(verdict.note_id)
            if number is None:
                continue
            row = self.rows[number]
            if row.done or (row.edited and not replace_edited):
                continue
            row.verdict, row.edits, row.outcome, row.message = verdict, None, None, ""
            row.accepted = verdict.action in ("rewrite", "split")
            changed.append(number)
        return changed

    def markup(self, row: ReviewRow) -> MarkupPolicy:
        """The math and media tags a suggestion for this note may keep: those of the note and its source."""
        return MarkupPolicy.for_sources([*row.note.fields.values(), row.note.source], self.math)

    def mark_applied(self, applied: Applied) -> None:
        done = set(applied.applied)
        for row in self.rows:
            note_id = row.note.note_id
            if note_id in done:
                row.outcome, row.message = "applied", ""
                row.added = applied.added.get(note_id, [])
            elif note_id in applied.refused:  # to be asked again, not applied again as it is
                row.outcome, row.message, row.accepted = "refused", applied.refused[note_id], False


def note_card(note: NoteSnapshot) -> NoteCard:
    """The note's card as the agents read it and the learner edits it: its mapped fields as Markdown."""
    text = {role: html_to_markdown(html) for role, html in note.fields.items()}
    front = text.get("text", "") if note.kind == "cloze" else text.get("question", "")
    return NoteCard(kind=note.kind, front=front, back=text.get("answer", ""), extra=text.get("extra", ""))


def existing_note(note: NoteSnapshot) -> ExistingNote:
    return ExistingNote(
        note_id=note.note_id,
        card=note_card(note),
        has_extra="extra" in note.field_names,
        source=note.source,
        source_id=note.source_id,
    )


def change_of(row: ReviewRow, markup: MarkupPolicy) -> Change | None:
    """What applying the row's suggestion writes: the mapped fields whose text changed (the others keep
    their HTML as it is), new notes, or a flag; None when there is nothing to apply."""
    action, cards = row.action, row.suggestion(markup)
    if action in (None, "keep"):
        return None
    if action == "flag":
        return Flag(row.note)
    if action == "split":
        return Split(row.note, [NewNote(card.draft.kind, _roles(card)) for card in cards])
    if not cards:
        return None
    before, after = note_card(row.note), NoteCard.of(cards[0].draft)
    fields = {
        role: html
        for role, html in _roles(cards[0]).items()
        if role in row.note.field_names
        and getattr(before, CARD_ATTRIBUTE[role]).split() != getattr(after, CARD_ATTRIBUTE[role]).split()
    }
    return Rewrite(row.note, fields) if fields else None


def _roles(card: Card) -> dict[Role, str]:
    return {ROLE_OF_FIELD[name]: html for name, html in card.fields.items() if name in ROLE_OF_FIELD}


@functools.cache
def reviews_journal(user_files: Path) -> Journal[ReviewRun]:
    """The journal of review runs, next to the generate runs' drafts in `user_files/drafts/`."""
    return Journal(user_files / "drafts", kind=KIND, payload=ReviewRun, keep=KEEP_RUNS)


class ReviewSession(Session[ReviewRun]):
    """One review run and its journal entry: every change is saved."""

    @classmethod
    def new(
        cls, journal: Journal[ReviewRun], notes: Sequence[NoteSnapshot], math: MathSetting
    ) -> ReviewSession:
        more = f" (+{len(notes) - 1} notes)" if len(notes) > 1 else ""
        title = f"{notes[0].title}{more}" if notes else "No notes"
        return cls(journal, ReviewRun(title=title, math=math, rows=[ReviewRow(note=note) for note in notes]))

    @classmethod
    def resume(cls, journal: Journal[ReviewRun], entry: JournalEntry[ReviewRun]) -> ReviewSession:
        """A journaled run opened again; one still running when Anki stopped is "interrupted"."""
        run = entry.payload
        if run.status == "running":
            run.status = "interrupted"
            left = len(run.unreviewed())
            notes = f"{left} note is" if left == 1 else f"{left} notes are"
            run.message = f"This review was interrupted; {notes} still to review." if left else ""
        return cls(journal, run, entry.id)


def unfinished(entries: Iterable[JournalEntry[ReviewRun]]) -> list[JournalEntry[ReviewRun]]:
    """Runs with notes still to review or suggestions not applied, newest first."""
    return [entry for entry in entries if entry.payload.pending()]

"""Notes with a review history, made the way a learner makes it: cards answered through Anki's v3 scheduler,
so they have review log entries, intervals, due dates, ease (or FSRS memory state). Used by the notes, UI
and end-to-end tests and by bench/review.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anki.cards import Card
from anki.collection import Collection
from anki.notes import Note
from anki.scheduler.v3 import CardAnswer

GOOD, EASY, AGAIN = CardAnswer.GOOD, CardAnswer.EASY, CardAnswer.AGAIN
REVLOG = "select id, ease, ivl, lastIvl, factor, type from revlog where cid = ? order by id"


def add_note(
    col: Collection, notetype: str, fields: dict[str, str], *, deck: str = "Default", tags=()
) -> Note:
    note = col.new_note(col.models.by_name(notetype))
    for name, value in fields.items():
        note[name] = value
    note.tags = list(tags)
    deck_id = col.decks.id(deck)
    assert deck_id is not None
    col.add_note(note, deck_id)
    return note


def study(col: Collection, note: Note, ratings: Sequence[Any] = (EASY, GOOD, AGAIN, GOOD)) -> None:
    """Answer each card of `note` with these ratings, one after the other, as the reviewer would."""
    for card_id in note.card_ids():
        for rating in ratings:
            card = col.get_card(card_id)
            card.start_timer()
            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=rating))


def history(col: Collection, note_id: int) -> list[dict[str, Any]]:
    """Everything scheduling keeps about a note's cards: ids, due, interval, ease, FSRS memory state,
    queue, reps and lapses, and every review log entry."""
    assert col.db is not None
    cards = [col.get_card(card_id) for card_id in col.card_ids_of_note(note_id)]
    return [_state(col, card) for card in sorted(cards, key=lambda card: card.ord)]


def _state(col: Collection, card: Card) -> dict[str, Any]:
    assert col.db is not None
    memory = card.memory_state
    return {
        "id": card.id,
        "ord": card.ord,
        "due": card.due,
        "ivl": card.ivl,
        "factor": card.factor,
        "type": card.type,
        "reps": card.reps,
        "lapses": card.lapses,
        "memory": (memory.stability, memory.difficulty) if memory is not None else None,
        "revlog": col.db.all(
            "select id, ease, ivl, lastIvl, factor, type from revlog where cid = ?", card.id
        ),
    }

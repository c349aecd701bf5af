"""Whether a suggested card can take the place of a note's cards, keeping their review history."""

from __future__ import annotations

from ..models import NoteCard
from . import cloze


def why_not_in_place(new: NoteCard, kind: str, front: str) -> str:
    """Why `new` cannot replace the cards of a note of `kind` whose question or cloze text is `front`, or ""
    if it can. Each card of a note keeps its own review history, and a cloze note's cards are its cloze
    numbers: a number gone would leave its card empty (Empty Cards would delete it, history and all), a
    number moved would give one fact another's history."""
    if new.kind != kind:
        return f"As a {new.kind} card it needs another note type"
    old_numbers, new_numbers = cloze.numbers(front), cloze.numbers(new.front)
    if kind == "cloze" and old_numbers != new_numbers:
        listed = [", ".join(f"c{n}" for n in numbers) or "none" for numbers in (old_numbers, new_numbers)]
        return f"Its cloze numbers change ({listed[0]} → {listed[1]}), and each number is a card"
    return ""

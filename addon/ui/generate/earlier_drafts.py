"""Runs from earlier with work left: a notice when the window opens, and the Drafts menu.

Reusable by any window that journals its runs with `journal.py` (generate runs: cards not added yet; review
runs: notes not reviewed or suggestions not applied yet): it needs the journal, the notice area, what to do
when the learner opens a run, and `Leftovers`: how much work a run has left and the words for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aqt.qt import QMenu

from .notices import NoticeArea

if TYPE_CHECKING:
    from ...journal import Journal, JournalEntry

NOTICE = "drafts"


@dataclass(frozen=True)
class Leftovers:
    """What a journaled run has left (`pending(run)`: its cards or notes left), and how to say it."""

    pending: Callable[[Any], Sized]
    title: Callable[[Any], str]
    noun: str = "card"
    state: str = "not added yet"
    none: str = "No unfinished drafts"
    """The menu's only entry when no run has work left."""

    def count(self, count: int) -> str:
        return f"{count} {self.noun}{'s' if count != 1 else ''}"


class EarlierDrafts:
    def __init__(
        self,
        journal: Journal[Any],
        notices: NoticeArea,
        open_run: Callable[[str], None],
        shown_run: Callable[[], str | None],
        leftovers: Leftovers,
    ) -> None:
        self.journal = journal
        self.notices = notices
        self.open_run = open_run
        self.shown_run = shown_run
        self.leftovers = leftovers

    def waiting(self) -> list[JournalEntry[Any]]:
        return self._waiting(self.journal.load()[0])

    def offer(self) -> None:
        """A notice for files that could not be read, and one for runs with work left."""
        entries, problems = self.journal.load()
        for number, problem in enumerate(problems):
            self.notices.show_notice(f"journal-{number}", problem)
        waiting = self._waiting(entries)
        if not waiting:
            return
        left = self.leftovers
        count = sum(len(left.pending(entry.payload)) for entry in waiting)
        runs = f"{len(waiting)} earlier runs" if len(waiting) > 1 else f"“{left.title(waiting[0].payload)}”"
        self.notices.show_notice(
            NOTICE,
            f"{left.count(count)} from {runs} {'were' if count != 1 else 'was'} {left.state}.",
            [("Open", lambda: self.open_run(waiting[0].id)), ("Discard", self.discard)],
        )

    def fill_menu(self, menu: QMenu) -> None:
        menu.clear()
        entries = self.waiting()
        left = self.leftovers
        for entry in entries:
            run = entry.payload
            label = f"{left.title(run)} — {left.count(len(left.pending(run)))} — {_when(entry.updated)}"
            action = menu.addAction(label)
            assert action is not None
            action.triggered.connect(lambda _=False, entry_id=entry.id: self.open_run(entry_id))
        if not entries:
            empty = menu.addAction(left.none)
            assert empty is not None
            empty.setEnabled(False)

    def discard(self) -> None:
        """Forget every run with work left, except the one the window shows."""
        keep = self.shown_run()
        for entry in self.waiting():
            if entry.id != keep:
                self.journal.remove(entry.id)
        self.notices.hide_notice(NOTICE)

    def _waiting(self, entries: list[JournalEntry[Any]]) -> list[JournalEntry[Any]]:
        return [entry for entry in entries if self.leftovers.pending(entry.payload)]


def _when(timestamp: float) -> str:
    return time.strftime("%b %d %H:%M", time.localtime(timestamp))

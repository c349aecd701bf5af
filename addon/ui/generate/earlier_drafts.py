"""Runs from earlier with cards not added yet: a notice when the window opens, and the Drafts menu.

Reusable by any window that journals its runs with `journal.py`: it needs the journal, the notice area,
and what to do when the learner opens a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aqt.qt import QMenu

from .notices import NoticeArea
from .runs import cards_text

if TYPE_CHECKING:
    from ...drafts import DraftRun
    from ...journal import Journal, JournalEntry

NOTICE = "drafts"


class EarlierDrafts:
    def __init__(
        self,
        journal: Journal[DraftRun],
        notices: NoticeArea,
        open_run: Callable[[str], None],
        shown_run: Callable[[], str | None],
    ) -> None:
        self.journal = journal
        self.notices = notices
        self.open_run = open_run
        self.shown_run = shown_run

    def waiting(self) -> list[JournalEntry[DraftRun]]:
        from ...drafts import unfinished

        return unfinished(self.journal.load()[0])

    def offer(self) -> None:
        """A notice for files that could not be read, and one for runs with cards not added yet."""
        from ...drafts import unfinished

        entries, problems = self.journal.load()
        for number, problem in enumerate(problems):
            self.notices.show_notice(f"journal-{number}", problem)
        waiting = unfinished(entries)
        if not waiting:
            return
        cards = sum(len(entry.payload.pending()) for entry in waiting)
        runs = f"{len(waiting)} earlier runs" if len(waiting) > 1 else f"“{waiting[0].payload.title}”"
        self.notices.show_notice(
            NOTICE,
            f"{cards_text(cards)} from {runs} {'were' if cards != 1 else 'was'} not added yet.",
            [("Open", lambda: self.open_run(waiting[0].id)), ("Discard", self.discard)],
        )

    def fill_menu(self, menu: QMenu) -> None:
        menu.clear()
        entries = self.waiting()
        for entry in entries:
            run = entry.payload
            label = f"{run.title} — {cards_text(len(run.pending()))} — {_when(entry.updated)}"
            action = menu.addAction(label)
            assert action is not None
            action.triggered.connect(lambda _=False, entry_id=entry.id: self.open_run(entry_id))
        if not entries:
            empty = menu.addAction("No unfinished drafts")
            assert empty is not None
            empty.setEnabled(False)

    def discard(self) -> None:
        """Forget every run with cards not added, except the one the window shows."""
        keep = self.shown_run()
        for entry in self.waiting():
            if entry.id != keep:
                self.journal.remove(entry.id)
        self.notices.hide_notice(NOTICE)


def _when(timestamp: float) -> str:
    return time.strftime("%b %d %H:%M", time.localtime(timestamp))

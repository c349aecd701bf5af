"""The fault suite driven through the Generate Cards window of a real Anki in this process.

`run_dialog(mw, fault)` runs one fault of tests/faults.py as a learner would: config.json written as the
fault has it, Tools → Generate Cards…, the text pasted, Generate (Stop when the fault says), every card the
run left in the preview added with Add, and the notes made undone afterwards. `ANKI_FAULTS` are the faults
only Anki has: the target deck or our note type deleted while the run goes on, an add that fails halfway.

Each is measured into the suite's `Outcome`, from what the window shows and what reached the collection:
- cards: the cards the run left in the preview (the drafts session, journaled);
- errors: the status line when it reports a problem, the settings notice (a message per sentence), and
  anything that would reach the learner as an exception (a traceback through `sys.excepthook`, a message
  box left open);
- lost: made cards neither in the preview nor left out or dropped as a repeat with a message, plus cards
  Add neither added nor skipped as duplicates; duplicates: cards beyond those made, and notes added
  beyond those cards;
- unsafe: the added notes' fields (`card_safety.field_problems`) and their cards as Anki renders them;
- stall_ms: how late a 10 ms Qt timer on the main thread came, at worst, from Generate to the end of Add.

tests/ui/test_dialog_faults.py asserts them; `python -m bench.faults` tabulates them.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aqt.qt import QApplication, QMessageBox

from tests.build_fixtures import PACKAGE
from tests.card_safety import field_problems, rendered_problems
from tests.fake_openai import FakeOpenAI
from tests.faults import TEXT, Fault, Outcome, Server, config_of, repeats_in, source_text

from .anki_app import TICK_MS, Heartbeat, addon_module, menu_action, top_level, wait_until

RUN_TIMEOUT = 120.0
_QUIET = re.compile(r"\d+ cards? ready \([^()]*\)\.|Stopped\. \d+ cards? kept \([^()]*\)\.|Stopped\.")
"""Status lines that report no problem: a run that ended well, or was stopped."""
_SENTENCE_END = re.compile(r"(?<=\.) (?=[A-Z])")

Action = Callable[[Any, Any], None]
"""Something done to Anki or the window at one moment of a run: (mw, dialog)."""


@dataclass(frozen=True)
class AnkiFault:
    name: str
    before_run: Action | None = None
    """Done before Generate."""
    meanwhile: Action | None = None
    """Done once the first cards are in."""
    before_add: Action | None = None
    """Done before the first Add; the learner presses Add again if the first one added nothing."""
    after_add: Action | None = None
    """Done after the first Add."""
    error: str = ""
    """A phrase the first Add's message must hold; empty: the first Add adds the cards."""


class _Learner:
    """Drives one window through a run and its Add, and collects what the learner would see go wrong."""

    def __init__(self, mw: Any, dialog: Any, stop_when: Callable[[Sequence[str]], bool] | None) -> None:
        self.mw, self.dialog = mw, dialog
        self.stop_when = stop_when
        self.seen: list[str] = []
        self.exceptions: list[str] = []
        self._stopped = False

    def excepthook(self, kind: Any, value: Any, tb: Any) -> None:
        """What Anki would show in its error window."""
        self.exceptions.append("".join(traceback.format_exception(kind, value, tb)))

    def generate(self, meanwhile: Action | None, beat: Heartbeat) -> None:
        dialog = self.dialog
        dialog.generate_button.click()
        if dialog.run_state != "running":
            return  # refused before starting: the status line says why
        listener = dialog.driver.listener
        done_meanwhile = meanwhile is None

        def on_progress(event: Any) -> None:
            self.seen.append(str(event))
            listener.run_progress(event)
            if self.stop_when and not self._stopped and self.stop_when(self.seen):
                self._stopped = True
                dialog.cancel_button.click()

        def on_cards(rows: Sequence[int]) -> None:
            nonlocal done_meanwhile
            listener.run_cards_changed(rows)
            if not done_meanwhile and meanwhile is not None:
                done_meanwhile = True
                meanwhile(self.mw, dialog)
                beat.restart()  # the fault itself is not the window's stall

        dialog.driver.listener = _Listener(on_progress, on_cards, listener.run_finished)
        wait_until(lambda: dialog.run_state != "running", RUN_TIMEOUT)

    def add(self) -> str:
        """Press Add as a learner would, wait for it to end; the status line it left."""
        dialog = self.dialog
        if not dialog.insert_button.isEnabled():
            return ""
        dialog.insert_button.click()
        wait_until(lambda: not dialog.adding, RUN_TIMEOUT)
        return str(dialog.status_text())

    def message_boxes(self) -> list[str]:
        found = []
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                found.append(f"message box: {widget.text()}")
                widget.close()
        return found


@dataclass
class _Listener:
    """Between the run and the window (a `RunListener`): sees every event the window gets, as it gets it."""

    run_progress: Callable[[Any], None]
    run_cards_changed: Callable[[Sequence[int]], None]
    run_finished: Callable[[Any], None]


def open_dialog(mw: Any) -> Any:
    menu_action(mw, "Generate Cards…").trigger()
    dialog = top_level("aicg_generate_dialog")
    wait_until(lambda: dialog.pipeline_state != "loading", 60)
    return dialog


def run_dialog(mw: Any, fault: Fault) -> Outcome:
    """One fault of tests/faults.py through the window (see the module's docstring)."""
    with FakeOpenAI() as server:
        script = Server(fault)
        server.handler = script
        return _drive(mw, server, script, config_of(server, fault), source_text(fault), fault.stop_when)


def run_anki_fault(mw: Any, fault: AnkiFault) -> Outcome:
    """One of the faults only Anki has, around a run that goes well (see the module's docstring)."""
    with FakeOpenAI() as server:
        script = Server(Fault(fault.name))
        server.handler = script
        return _drive(mw, server, script, config_of(server, Fault(fault.name)), TEXT, None, fault)


def _drive(
    mw: Any,
    server: FakeOpenAI,
    script: Server,
    config: dict[str, Any],
    text: str,
    stop_when: Callable[[Sequence[str]], bool] | None,
    anki: AnkiFault | None = None,
) -> Outcome:
    saved = mw.addonManager.getConfig(PACKAGE)
    mw.addonManager.writeConfig(PACKAGE, mw.addonManager.addonConfigDefaults(PACKAGE) | config)
    notes_before = set(mw.col.find_notes(""))
    hook = sys.excepthook
    dialog = open_dialog(mw)
    learner = _Learner(mw, dialog, stop_when)
    sys.excepthook = learner.excepthook
    try:
        dialog.set_source_text(text, "Faults")
        if anki and anki.before_run:
            anki.before_run(mw, dialog)
        with Heartbeat() as beat:
            learner.generate(anki.meanwhile if anki else None, beat)
            drafts = list(dialog.drafts())
            message = str(dialog.status_text())
            errors = [] if _QUIET.fullmatch(message) else [message]
            if (notice := dialog.notices.text(addon_module("ui.setup_notice").KEY)) is not None:
                errors += _SENTENCE_END.split(notice)  # one message per value it replaced
            if anki and anki.before_add:
                anki.before_add(mw, dialog)
            added_message = learner.add()
            if anki and anki.after_add:
                anki.after_add(mw, dialog)
            if added_message.startswith("No cards were added"):
                errors.append(added_message)
                learner.add()  # again, as the learner would
        errors += learner.exceptions + learner.message_boxes()
        outcome = _measure(mw, dialog, drafts, script, server, notes_before, errors, beat, message)
        outcome.repeats = repeats_in(learner.seen)
        return outcome
    finally:
        sys.excepthook = hook
        dialog.reject()
        _undo_added(mw, notes_before)
        mw.addonManager.writeConfig(PACKAGE, saved)


def _measure(
    mw: Any,
    dialog: Any,
    drafts: Sequence[Any],
    script: Server,
    server: FakeOpenAI,
    notes_before: set[int],
    errors: list[str],
    beat: Heartbeat,
    message: str,
) -> Outcome:
    session = dialog.session.run if dialog.session is not None else None
    cards = list(session.cards) if session is not None else list(drafts)
    added = [draft for draft in cards if draft.outcome == "added"]
    skipped = [draft for draft in cards if draft.outcome == "duplicate"]
    new_notes = [note_id for note_id in mw.col.find_notes("") if note_id not in notes_before]
    unsafe = [
        f"note {note_id}: {problem}"
        for note_id in new_notes
        for value in mw.col.get_note(note_id).fields
        for problem in field_problems(value, math=True)
    ]
    unsafe += rendered_problems(mw.col, new_notes)
    ids = [draft.card.id for draft in cards]
    accepted = [draft for draft in cards if draft.accepted]
    extra_notes = max(0, len(new_notes) - len(added))
    return Outcome(
        cards=len(cards),
        made=script.made,
        left_out=message.count("A card was left out."),
        duplicates=max(0, len(cards) - script.made) + len(ids) - len(set(ids)) + extra_notes,
        unsafe=unsafe,
        errors=errors,
        requests=len(server.bodies()),
        cancelled=session is not None and session.status == "stopped",
        stall_ms=max(0.0, beat.worst_ms - TICK_MS),
        not_added=len(accepted) - len(added) - len(skipped) if session is not None else 0,
    )


def _undo_added(mw: Any, notes_before: set[int]) -> None:
    """Leave the collection as it was for the next fault (later runs would find their cards duplicates)."""
    new_notes = [note_id for note_id in mw.col.find_notes("") if note_id not in notes_before]
    if new_notes:
        mw.col.remove_notes(new_notes)


# Faults only Anki has


def _delete_deck(mw: Any, dialog: Any) -> None:
    mw.col.decks.remove([dialog.deck_chooser.selected_deck_id])


def _delete_notetype(mw: Any, dialog: Any) -> None:
    notetypes = addon_module("notes.notetypes")
    notetype = mw.col.models.by_name(notetypes.SPECS["basic"].name)
    mw.col.models.remove(notetype["id"])


def _choose_new_deck(mw: Any, dialog: Any) -> None:
    """As the learner's pick in the deck chooser would."""
    deck_id = mw.col.decks.id("Fault suite, deleted meanwhile")
    dialog.deck_chooser.selected_deck_id = deck_id
    dialog.deck_chooser.on_deck_changed(deck_id)


class _RefuseThirdNote:
    """Another add-on refuses the third note of a batch: the two before it must not stay."""

    def __init__(self) -> None:
        self.notes = 0

    def __call__(self, col: Any, note: Any, deck_id: Any) -> None:
        self.notes += 1
        if self.notes == 3:
            raise RuntimeError("another add-on refuses this note")

    def install(self, mw: Any, dialog: Any) -> None:
        from anki.hooks import note_will_be_added

        self.notes = 0
        note_will_be_added.append(self)

    def remove(self, mw: Any, dialog: Any) -> None:
        from anki.hooks import note_will_be_added

        note_will_be_added.remove(self)


_REFUSAL = _RefuseThirdNote()

ANKI_FAULTS = [
    AnkiFault(
        "Anki: target deck deleted mid-run",
        before_run=_choose_new_deck,
        meanwhile=_delete_deck,
        error="the deck chosen for them no longer exists",
    ),
    AnkiFault("Anki: note type deleted mid-run", meanwhile=_delete_notetype),
    AnkiFault(
        "Anki: an add fails halfway",
        before_add=_REFUSAL.install,
        after_add=_REFUSAL.remove,
        error="No cards were added: another add-on refuses this note",
    ),
]

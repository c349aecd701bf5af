"""The fault suite through the Generate Cards window of the session's real Anki (tests/ui/dialog_faults.py):
every fault of tests/faults.py, and the faults only Anki has, end with the window's cards or one clear
message, no exception, nothing lost or added twice, nothing unsafe in what is added, and the main thread
never held up for long.

Faults of the window's lifecycle that tests/ui/test_generate_dialog.py covers already, and the fault
table references: Stop with no cards, Stop mid-run keeping every card once, closing mid-run (the journal
keeps the cards), closing mid-add (the add finishes, the profile waits), Add again after a failed add, bad
settings with the notice. Quitting Anki and switching profile mid-run are in tests/e2e.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults import FAULTS, Fault
from tests.pipeline_crew import FIVE_TOPICS, Crew
from tests.test_faults import check

from .anki_app import FREEZE_MS, addon_module
from .dialog_faults import ANKI_FAULTS, AnkiFault, open_dialog, run_anki_fault, run_dialog
from .test_generate_dialog import slow_after_first_batch

pytestmark = pytest.mark.timeout(180)


DIALOG_FAULTS = [fault for fault in FAULTS if "dialog" in fault.surfaces]


@pytest.fixture(autouse=True)
def no_drafts(mw) -> Iterator[None]:
    """Each fault starts without the journal of the one before (its notice would be shown)."""
    folder = addon_module("ui.generate.dialog").USER_FILES / "drafts"
    shutil.rmtree(folder, ignore_errors=True)
    yield
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("fault", DIALOG_FAULTS, ids=[fault.name for fault in DIALOG_FAULTS])
def test_fault_through_the_window(mw: Any, qtbot: Any, fault: Fault) -> None:
    outcome = run_dialog(mw, fault)

    check(outcome, fault, "dialog")
    assert outcome.stall_ms is not None and outcome.stall_ms < FREEZE_MS, outcome.stall_ms


@pytest.mark.parametrize("fault", ANKI_FAULTS, ids=[fault.name for fault in ANKI_FAULTS])
def test_anki_fault(mw: Any, qtbot: Any, fault: AnkiFault) -> None:
    outcome = run_anki_fault(mw, fault)

    check(outcome, Fault(fault.name, error=fault.error or None), "dialog")
    assert outcome.cards == outcome.made > 0
    assert not fault.error or len(outcome.errors) == 1, outcome.errors
    assert outcome.stall_ms is not None and outcome.stall_ms < FREEZE_MS, outcome.stall_ms


@pytest.mark.usefixtures("configured")
def test_closing_the_profile_mid_run_waits_for_the_run_to_hand_over_every_card(
    mw: Any, qtbot: Any, fake_openai: Any
) -> None:
    """Switching profile or quitting closes the window through Anki's `closeWithCallback`: the collection
    may close only once the stopped run has journaled every card made, the unreviewed ones formatted
    without the LLM (before, the unreviewed ones could be lost with the process)."""
    fake_openai.handler = Crew(cards_per_topic=2, delay=slow_after_first_batch)
    dialog = open_dialog(mw)
    dialog.set_source_text(FIVE_TOPICS, "Profile closed mid-run")
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 4, timeout=30_000)  # the first batch, reviewed
    journal = addon_module("drafts").drafts_journal(addon_module("ui.generate.dialog").USER_FILES)
    seen: list[tuple[str, int]] = []

    def journaled() -> None:  # read from disk, as the next Anki session will
        [entry] = journal.load()[0]
        seen.append((entry.payload.status, len(entry.payload.cards)))

    dialog.closeWithCallback(journaled)
    assert not seen, "the profile may not close while the run hands over its cards"
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)

    assert seen == [("stopped", 10)]

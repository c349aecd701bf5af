"""The Review Cards window in the session's real Anki, against the local fake OpenAI server, on notes whose
cards have a review history: Browser selection → fields confirmed → verdicts → diff and rendered view →
accept, reject, edit, ask again → Apply in one undo step that keeps every card's history; edited notes
refused; Stop and resume; the main thread's stalls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anki.consts import QUEUE_TYPE_SUSPENDED
from anki.notes import Note

from tests.build_fixtures import PACKAGE
from tests.crew_server import crew_server
from tests.fake_openai import Request
from tests.history import add_note, history, study
from tests.pipeline_crew import Crew, task

from .anki_app import (
    addon_module,
    assert_never_freezes,
    close_browser,
    menu_for,
    server_config,
    wait_for_window,
)

pytestmark = pytest.mark.timeout(180)

REVIEW_TEXT = "Review selected cards with AI…"
DECK = "Review test"


def vocab_type(mw) -> int:
    """A learner's own note type with a field the review never maps (Audio)."""
    models = mw.col.models
    existing = models.by_name("Vocab (review test)")
    if existing is not None:
        return int(existing["id"])
    notetype = models.new("Vocab (review test)")
    for name in ("Word", "Meaning", "Audio"):
        models.add_field(notetype, models.new_field(name))
    template = models.new_template("Recognise")
    template["qfmt"], template["afmt"] = "{{Word}}", "{{FrontSide}}<hr id=answer>{{Meaning}}{{Audio}}"
    models.add_template(notetype, template)
    return int(models.add_dict(notetype).id)


def scheduled_notes(mw) -> dict[str, Note]:
    """Notes a learner has studied, one for each kind of verdict the test crew gives."""
    col = mw.col
    vocab = col.new_note(col.models.get(vocab_type(mw)))
    vocab["Word"], vocab["Audio"] = "le chien", "[sound:chien.mp3]"
    vocab["Meaning"] = "the dog, a domestic animal that barks and is kept as a pet in many homes"
    col.add_note(vocab, col.decks.id(DECK))
    notes = {
        "split": add_note(
            col, "Basic", {"Front": "RSI: range and period?", "Back": "0 to 100; 14 days"}, deck=DECK
        ),
        "rewrite": add_note(
            col,
            "Basic",
            {
                "Front": "What does RSI measure?",
                "Back": "The speed and the size of the recent price changes of one stock over time",
            },
            deck=DECK,
        ),
        "flag": add_note(
            col, "Basic", {"Front": "When did Wilder publish RSI?", "Back": "In 1878 (doubtful)"}, deck=DECK
        ),
        "keep": add_note(col, "Cloze", {"Text": "{{c1::Paris}} is the capital of France"}, deck=DECK),
        "vocab": col.get_note(vocab.id),
    }
    for note in notes.values():
        study(col, note)
    return {name: col.get_note(note.id) for name, note in notes.items()}


@pytest.fixture
def notes(mw) -> Iterator[dict[str, Note]]:
    made = scheduled_notes(mw)
    yield made
    mw.col.remove_notes([note.id for note in made.values()])


@pytest.fixture
def fresh_fields(mw) -> Iterator[None]:
    """No remembered field mappings: the first review asks."""
    key = addon_module("notes.field_map").CONFIG_KEY
    mw.col.remove_config(key)
    yield
    mw.col.remove_config(key)


def review_dialog(qtbot) -> Any:
    return wait_for_window(qtbot, "aicg_review_dialog")


def open_for(mw, qtbot, note_ids: list[int], *, confirm_fields: bool = True) -> Any:
    addon_module("ui.entry_points").open_review(mw, note_ids)
    dialog = review_dialog(qtbot)
    qtbot.waitUntil(lambda: dialog.pipeline_state == "ready", timeout=30_000)
    if confirm_fields:
        qtbot.waitUntil(lambda: dialog.field_dialog is not None or dialog.session is not None, timeout=10_000)
        if dialog.field_dialog is not None:
            dialog.field_dialog.accept()
    qtbot.waitUntil(lambda: dialog.session is not None, timeout=10_000)
    return dialog


def run_review(qtbot, dialog: Any) -> None:
    dialog.review_button.click()
    assert dialog.run_state == "running"
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=60_000)


def row_of(dialog: Any, note: Note) -> int:
    return next(n for n in range(dialog.model.rowCount()) if dialog.model.row(n).note.note_id == note.id)


def column(dialog: Any, number: int) -> list[str]:
    return [dialog.model.data(dialog.model.index(row, number)) for row in range(dialog.model.rowCount())]


def close(dialog: Any) -> None:
    if not dialog._closed:
        dialog.reject()


def test_selected_cards_are_reviewed_applied_in_one_step_and_undone_with_history_kept(
    mw, qtbot, configured, drafts_folder, fake_openai, notes, fresh_fields
) -> None:
    import aqt

    fake_openai.handler = Crew()
    before = {name: history(mw.col, note.id) for name, note in notes.items()}
    fields_before = {name: dict(note.items()) for name, note in notes.items()}
    notes_before = mw.col.note_count()
    browser = aqt.dialogs.open("Browser", mw)
    try:
        browser.search_for(f'deck:"{DECK}"')
        browser.table.select_all()
        assert any(a.text() == REVIEW_TEXT for a in browser.form.menu_Notes.actions())
        next(a for a in menu_for(browser) if a.text() == REVIEW_TEXT).trigger()
        dialog = review_dialog(qtbot)
        qtbot.waitUntil(lambda: dialog.field_dialog is not None, timeout=30_000)
        chooser = dialog.field_dialog
        vocab = chooser.boxes[notes["vocab"].mid]
        assert (vocab["question"].currentText(), vocab["answer"].currentText()) == ("Word", "Meaning")
        assert vocab["extra"].currentText() == "(none)", "Audio is never guessed as a field to review"
        assert chooser.boxes[notes["keep"].mid]["text"].currentText() == "Text"
        chooser.accept()
        qtbot.waitUntil(lambda: dialog.model.rowCount() == 5, timeout=10_000)
    finally:
        close_browser(qtbot, browser)
    try:
        assert column(dialog, 0) == ["Waiting…"] * 5
        run_review(qtbot, dialog)
        assert dialog.run_state == "idle", dialog.status_text()
        assert "5 notes reviewed: 4 suggestions" in dialog.status_text()
        verdicts = {name: column(dialog, 0)[row_of(dialog, note)] for name, note in notes.items()}
        assert verdicts == {
            "split": "Split in 2",
            "rewrite": "Rewrite",
            "flag": "Flag: doubtful fact",
            "keep": "Keep",
            "vocab": "Rewrite",
        }
        assert "too long" in column(dialog, 2)[row_of(dialog, notes["rewrite"])]

        # The suggestion as a word diff, then rendered by Anki side by side.
        dialog.table.select_row(row_of(dialog, notes["rewrite"]))
        diff = dialog.panel.diff_view.toHtml()
        assert "line-through" in diff and "price changes of one stock over time" in diff
        dialog.panel.set_rendered(True)
        shown = dialog.panel.card_view.shown
        assert "Now" in shown and "Suggested" in shown and "The speed and the size of the recent" in shown
        dialog.panel.set_rendered(False)

        # Edit the vocabulary note's suggestion; reject the rewrite; accept the flag.
        dialog.table.select_row(row_of(dialog, notes["vocab"]))
        box = dialog.panel.editor.box("Answer")
        box.setPlainText("the dog")
        dialog.panel.editor.flush()
        assert column(dialog, 0)[row_of(dialog, notes["vocab"])] == "Rewrite (edited)"
        dialog.model.set_checked([row_of(dialog, notes["rewrite"])], False)
        dialog.model.set_checked([row_of(dialog, notes["flag"])], True)
        dialog.suspend_box.setChecked(True)
        assert dialog.apply_button.text() == "Apply 3"

        dialog.apply_button.click()
        qtbot.waitUntil(lambda: not dialog.applying, timeout=10_000)
        assert dialog.status_text().startswith("Applied 3 suggestions."), dialog.status_text()
    finally:
        close(dialog)

    col = mw.col
    assert col.undo_status().undo == "Apply AI Review"
    for name in ("split", "rewrite", "flag", "keep", "vocab"):
        now = history(col, notes[name].id)
        assert [c["id"] for c in now] == [c["id"] for c in before[name]], name
        assert [c["revlog"] for c in now] == [c["revlog"] for c in before[name]], name
    assert history(col, notes["vocab"].id) == before["vocab"], "due, interval, ease: all kept"
    vocab_now = col.get_note(notes["vocab"].id)
    assert vocab_now["Meaning"] == "the dog" and vocab_now["Word"] == "le chien"
    assert vocab_now["Audio"] == "[sound:chien.mp3]", "an unmapped field is never touched"
    assert dict(col.get_note(notes["rewrite"].id).items()) == fields_before["rewrite"], "rejected"
    assert "ai-review::flagged" in col.get_note(notes["flag"].id).tags
    original = col.get_note(notes["split"].id)
    assert "ai-review::split" in original.tags and dict(original.items()) == fields_before["split"]
    assert all(card.queue == QUEUE_TYPE_SUSPENDED for card in original.cards())
    pieces = [col.get_note(nid) for nid in col.find_notes(f"tag:ai-source::{original.id}")]
    assert sorted(p["Back"] for p in pieces) == ["0 to 100", "14 days"]
    assert all(col.decks.name(p.cards()[0].did) == DECK for p in pieces)
    assert col.note_count() == notes_before + 2

    col.undo()  # one step undoes it all

    assert col.note_count() == notes_before
    for name, note in notes.items():
        assert history(col, note.id) == before[name], name
        assert dict(col.get_note(note.id).items()) == fields_before[name], name
        assert not [tag for tag in col.get_note(note.id).tags if tag.startswith("ai-review")]


def test_a_note_edited_after_the_review_is_refused_with_a_clear_message(
    mw, qtbot, configured, drafts_folder, fake_openai, notes
) -> None:
    fake_openai.handler = Crew()
    dialog = open_for(mw, qtbot, [notes["rewrite"].id, notes["vocab"].id])
    try:
        run_review(qtbot, dialog)
        mine = mw.col.get_note(notes["rewrite"].id)
        mine["Back"] = "My own words"
        mw.col.update_note(mine)  # the learner edits the note in the Browser meanwhile

        dialog.apply_button.click()
        qtbot.waitUntil(lambda: not dialog.applying, timeout=10_000)

        status = dialog.status_text()
        assert "Applied 1 suggestion." in status and "“What does RSI measure?” was edited after" in status
        assert mw.col.get_note(mine.id)["Back"] == "My own words"
        assert column(dialog, 0)[row_of(dialog, notes["rewrite"])] == "Refused"
        assert "review it again" in column(dialog, 2)[row_of(dialog, notes["rewrite"])]
        mw.col.undo()

        # Ask again: the note as it is now is what gets reviewed.
        dialog.table.select_row(row_of(dialog, notes["rewrite"]))
        dialog.feedback_edit.setText("shorter")
        dialog.again_button.click()
        qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=60_000)
        row = dialog.model.row(row_of(dialog, notes["rewrite"]))
        assert row.outcome is None and row.verdict.feedback == "shorter"
        assert row.note.fields["answer"] == "My own words"
        assert row.verdict.cards[0].fields["Back"] == "My own words (shorter)"
        [request] = [r for r in fake_openai.requests if '"shorter"' in task(r)]
        assert "My own words" in task(request)
    finally:
        close(dialog)


def test_stop_keeps_the_verdicts_and_the_review_resumes_from_the_journal(
    mw, qtbot, configured, drafts_folder, fake_openai
) -> None:
    col = mw.col
    made = [add_note(col, "Basic", {"Front": f"Q{n}?", "Back": "one; two"}, deck=DECK) for n in range(25)]

    def later_batches_slow(schema: str, request: Request) -> float:
        return 0.0 if '"Q0?"' in task(request) else 20.0

    fake_openai.handler = Crew(delay=later_batches_slow)
    try:
        dialog = open_for(mw, qtbot, [note.id for note in made])
        dialog.review_button.click()
        qtbot.waitUntil(lambda: column(dialog, 0).count("Split in 2") == 10, timeout=30_000)
        dialog.stop_button.click()
        qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=10_000)
        assert "15 notes not reviewed yet" in dialog.status_text()
        assert dialog.review_button.text() == "Review 15 notes"
        close(dialog)

        fake_openai.handler = Crew()
        asked_before = len(fake_openai.requests)
        addon_module("ui.entry_points").open_review(mw)
        dialog = review_dialog(qtbot)
        qtbot.waitUntil(lambda: dialog.notices.text("drafts") is not None, timeout=30_000)
        assert "25 notes from “Q0? (+24 notes)” were not reviewed or applied yet" in dialog.notices.text(
            "drafts"
        )
        dialog.notices.notice("drafts").buttons["Open"].click()
        assert dialog.model.rowCount() == 25 and dialog.review_button.text() == "Review 15 notes"
        run_review(qtbot, dialog)
        assert column(dialog, 0) == ["Split in 2"] * 25
        assert len(fake_openai.requests) - asked_before == 2, "only the 15 notes left: two batches"
        close(dialog)
    finally:
        col.remove_notes([note.id for note in made])


def test_the_window_never_freezes_during_a_review(mw, qtbot, configured, drafts_folder, fake_openai) -> None:
    col = mw.col
    made = [
        add_note(
            col,
            "Basic",
            {"Front": f"Item {n}?", "Back": "first fact; second fact" if n % 2 else "fine"},
            deck=DECK,
        )
        for n in range(200)
    ]

    def run() -> None:
        for row in dialog.session.run.rows:
            row.verdict = None
        dialog._update_buttons()
        run_review(qtbot, dialog)
        assert column(dialog, 0).count("Split in 2") == 100, dialog.status_text()

    try:
        with crew_server(latency=0.2) as url:  # in its own process, as a real server is
            mw.addonManager.writeConfig(PACKAGE, server_config(mw, fake_openai) | {"base_url": url})
            dialog = open_for(mw, qtbot, [note.id for note in made])
            qtbot.wait(1200)  # Anki collects garbage 1 s after a window closes: not ours to time
            assert_never_freezes(qtbot, run)
            close(dialog)
    finally:
        col.remove_notes([note.id for note in made])

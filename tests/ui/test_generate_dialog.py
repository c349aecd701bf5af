"""The Generate Cards window in the session's real Anki, against the local fake OpenAI server: text and notes
in, cards streaming into the preview, render, edit, reject, regenerate, add in one undo step, and the window's
lifecycle (Stop, close mid-run and mid-add, drafts kept across a crash)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aqt.qt import Qt
from aqt.theme import theme_manager

from tests.build_fixtures import PACKAGE
from tests.crew_server import crew_server
from tests.fake_openai import Reply, Request
from tests.pipeline_crew import FIVE_TOPICS, Crew, task

from .anki_app import (
    addon_module,
    assert_never_freezes,
    close_browser,
    menu_action,
    menu_for,
    server_config,
    top_level,
    wait_for_window,
)

pytestmark = pytest.mark.timeout(120)


def open_dialog(mw, qtbot) -> Any:
    menu_action(mw, "Generate Cards…").trigger()
    dialog = top_level("aicg_generate_dialog")
    qtbot.waitUntil(lambda: dialog.pipeline_state == "ready", timeout=30_000)
    return dialog


@pytest.fixture
def dialog(mw, qtbot, configured, drafts_folder) -> Iterator[Any]:
    dialog = open_dialog(mw, qtbot)
    yield dialog
    close(dialog)


def wait_for_dialog(qtbot) -> Any:
    """The Generate Cards window, once an entry point has opened it."""
    return wait_for_window(qtbot, "aicg_generate_dialog")


def close(dialog: Any) -> None:
    if not dialog._closed:
        dialog.reject()


def generate(qtbot, dialog: Any, text: str = FIVE_TOPICS) -> None:
    dialog.set_source_text(text, "Indicators")
    dialog.generate_button.click()
    assert dialog.run_state == "running"  # the window stays responsive while the run goes on
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=60_000)


def add_basic_note(mw, front: str, back: str, deck: str = "Default") -> Any:
    note = mw.col.new_note(mw.col.models.by_name("Basic"))
    note["Front"], note["Back"] = front, back
    mw.col.add_note(note, mw.col.decks.id(deck))
    return note


def slow_after_first_batch(schema: str, request: Request) -> float:
    """The Reviewer answers at once for the first batch (RSI and MACD), after 3 s for the others."""
    first = task(request).startswith("Topics: Relative Strength Index;")
    return 3.0 if schema == "Review" and not first else 0.0


# Generating from text


def test_cards_stream_in_render_and_add_in_one_undoable_step(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(cards_per_topic=3, delay=slow_after_first_batch)
    notes_before = mw.col.note_count()
    dialog.set_source_text(FIVE_TOPICS, "Indicators")

    dialog.generate_button.click()
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=30_000)
    assert dialog.run_state == "running", "cards arrive while the run goes on"
    qtbot.waitUntil(lambda: dialog.progress.maximum() == 5 and dialog.progress.value() > 0)
    assert dialog.run_state == "running" and dialog.progress.value() < 5
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=60_000)

    assert dialog.run_state == "idle", dialog.status_text()
    assert dialog.model.rowCount() == 15
    assert f"{len(fake_openai.requests)} requests" in dialog.status_text()
    assert dialog.table.currentIndex().row() == 0
    first = dialog.drafts()[0].card.draft
    qtbot.waitUntil(lambda: first.question in dialog.card_view.shown)
    assert "Back" in dialog.card_view.shown and first.answer in dialog.card_view.shown
    assert dialog.model.data(dialog.model.index(0, 5)) == "Indicators"

    dialog.table.selectRow(0)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Space)  # the learner rejects one card
    assert not dialog.drafts()[0].accepted and dialog.insert_button.text() == "Add 14 cards"
    dialog.insert_button.click()
    dialog.insert_button.click()  # a double click adds once
    qtbot.waitUntil(lambda: not dialog.adding, timeout=10_000)

    assert mw.col.note_count() - notes_before == 14
    assert dialog.model.rowCount() == 1, "added cards leave the preview; the rejected one stays"
    note = mw.col.get_note(mw.col.find_notes("tag:ai-generated")[-1])
    assert note["Source"] == "Indicators"
    assert mw.col.undo_status().undo == "Generate Cards"
    mw.col.undo()
    assert mw.col.note_count() == notes_before


def test_add_again_after_a_failed_add_adds_each_card_once(mw, qtbot, dialog, fake_openai) -> None:
    from anki.hooks import note_will_be_added

    fake_openai.handler = Crew(cards_per_topic=1)
    generate(qtbot, dialog)
    notes_before = mw.col.note_count()

    def refuse(col: Any, note: Any, deck_id: Any) -> None:
        raise RuntimeError("another add-on refuses")

    note_will_be_added.append(refuse)
    try:
        dialog.insert_button.click()
        qtbot.waitUntil(lambda: not dialog.adding, timeout=10_000)
    finally:
        note_will_be_added.remove(refuse)
    assert dialog.status_text() == "No cards were added: another add-on refuses"
    assert mw.col.note_count() == notes_before and dialog.model.rowCount() == 5

    dialog.insert_button.click()
    qtbot.waitUntil(lambda: not dialog.adding, timeout=10_000)
    dialog.insert_button.click()  # nothing left to add
    assert mw.col.note_count() - notes_before == 5 and dialog.model.rowCount() == 0
    mw.col.undo()


def test_edit_a_card_in_place(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(cards_per_topic=1)
    generate(qtbot, dialog)
    dialog.table.selectRow(0)
    box = dialog.editor.box("Answer")

    box.setPlainText("Speed **and size** of price moves")
    qtbot.waitUntil(lambda: dialog.drafts()[0].edited, timeout=3_000)

    card = dialog.drafts()[0].card
    assert card.draft.answer == "Speed **and size** of price moves"
    assert card.fields["Back"] == "Speed <strong>and size</strong> of price moves"
    qtbot.waitUntil(lambda: "<strong>and size</strong>" in dialog.card_view.shown)
    assert dialog.model.data(dialog.model.index(0, 3)).startswith("edited")

    dialog.editor.rich.setChecked(True)  # the same text as rich text
    assert dialog.editor.box("Answer").toPlainText() == "Speed and size of price moves"
    dialog.editor.box("Extra").setPlainText("")
    qtbot.waitUntil(lambda: dialog.drafts()[0].card.draft.extra == "", timeout=3_000)
    assert dialog.drafts()[0].card.draft.answer == "Speed **and size** of price moves", (
        "untouched fields stay"
    )


def test_regenerate_selected_cards_with_feedback(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    generate(qtbot, dialog)
    before = [draft.card.id for draft in dialog.drafts()]
    dialog.table.clearSelection()
    dialog.table.select_rows([1, 3])

    dialog.feedback_edit.setText("make it a cloze")
    dialog.regenerate_button.click()
    assert dialog.run_state == "running"
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=30_000)

    after = dialog.drafts()
    assert dialog.run_state == "idle", dialog.status_text()
    assert [draft.card.id for draft in after] == before, (
        "replacements take the place of the cards they replace"
    )
    assert [n for n, draft in enumerate(after) if draft.card.draft.kind == "cloze"] == [1, 3]
    assert "make it a cloze" in after[1].card.draft.text and after[1].card.fields["Text"]
    assert dialog.table.selected_rows() == [1, 3]
    assert "2 cards made again" in dialog.status_text()


def one_card_a_batch(write: Any) -> Crew:
    """A crew whose Q&A Generator writes one card a batch, `write(batch number)`: the batches of FIVE_TOPICS
    are known (tests/test_pipeline_routes.py), so the rows come in that order."""
    from tests.pipeline_crew import topics_of
    from tests.test_pipeline_routes import BATCHES

    def cards(request: Request) -> Reply:
        names = "; ".join(topic["name"] for topic in topics_of(request))
        return Reply.json({"cards": [{**write(BATCHES.index(names)), "topic": 1}]})

    crew = Crew(cards_per_topic=1)
    crew._carddrafts = cards  # type: ignore[method-assign]
    return crew


def test_a_card_repeated_in_every_batch_reaches_the_window_once(mw, qtbot, dialog, fake_openai) -> None:
    card = {"kind": "basic", "front": "What is a momentum indicator?", "back": "RSI", "extra": ""}
    fake_openai.handler = one_card_a_batch(lambda batch: card)
    generate(qtbot, dialog)

    assert dialog.model.rowCount() == 1, "the run drops a card that repeats one finished before it"
    assert [draft.card.draft.question for draft in dialog.drafts()] == [card["front"]]


def test_cards_nearly_alike_across_batches_are_flagged_when_the_run_ends(
    mw, qtbot, dialog, fake_openai
) -> None:
    question = (
        "Which momentum indicator, computed over 14 periods, shows overbought conditions above 70 on a 0 to "
        "100 scale?"
    )
    variants = [
        question,
        question.replace("computed", "as computed"),
        question.replace("shows", "then shows"),
    ]
    answers = ["RSI", "Relative Strength Index", "Wilder oscillator"]  # different answers: all three stay
    fake_openai.handler = one_card_a_batch(
        lambda batch: {"kind": "basic", "front": variants[batch], "back": answers[batch], "extra": ""}
    )
    generate(qtbot, dialog)

    flags = [dialog.model.data(dialog.model.index(row, 3)) for row in range(dialog.model.rowCount())]
    assert len(flags) == 3 and flags[0] == "" and flags[2].startswith("⚠"), flags
    tip = dialog.model.data(dialog.model.index(2, 3), Qt.ItemDataRole.ToolTipRole)
    assert "Asks nearly the same as card 1" in tip


def test_stop_with_no_cards_says_stopped(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(delay=lambda schema, request: 5.0)
    dialog.set_source_text(FIVE_TOPICS)
    dialog.generate_button.click()
    qtbot.wait(300)

    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=3_000)

    assert dialog.status_text() == "Stopped."
    assert dialog.generate_button.isEnabled() and dialog.model.rowCount() == 0


def test_stop_mid_run_keeps_every_card_made_each_once_in_run_order(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(cards_per_topic=3, delay=slow_after_first_batch)
    dialog.set_source_text(FIVE_TOPICS, "Indicators")
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 6, timeout=30_000)  # the first batch, reviewed

    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=5_000)

    drafts = dialog.drafts()
    assert dialog.status_text().startswith("Stopped. 15 cards kept")
    assert len(drafts) == 15 and len({draft.card.id for draft in drafts}) == 15
    assert [draft.batch for draft in drafts] == [(0, 0)] * 6 + [(0, 1)] * 6 + [(0, 2)] * 3, (
        "the batches not reviewed yet streamed in too, formatted without the LLM"
    )
    assert all(draft.card.fields for draft in drafts)


@pytest.mark.parametrize(
    ("source", "back"),
    [
        (FIVE_TOPICS + "\nEnergy and mass: \\(E = mc^2\\).\n", "Energy is \\(E = mc^2\\)"),
        (FIVE_TOPICS, "Energy is E = mc^2"),
    ],
    ids=["source with math", "source without"],
)
def test_an_edited_card_keeps_math_as_the_run_did(mw, qtbot, dialog, fake_openai, source, back) -> None:
    fake_openai.handler = Crew(cards_per_topic=1)
    generate(qtbot, dialog, source)
    dialog.table.selectRow(0)

    dialog.editor.box("Answer").setPlainText("Energy is \\(E = mc^2\\)")
    qtbot.waitUntil(lambda: dialog.drafts()[0].edited, timeout=3_000)

    assert dialog.drafts()[0].card.fields["Back"] == back


def test_a_failing_server_shows_a_clear_message_and_keeps_the_text(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = lambda request: Reply.error(401, "bad key sk-test")
    generate(qtbot, dialog)

    assert dialog.run_state == "failed"
    assert "401" in dialog.status_text() and "sk-test" not in dialog.status_text()
    assert dialog.source_picker.text() == FIVE_TOPICS.strip()
    assert dialog.generate_button.isEnabled()


def test_bad_settings_get_a_plain_message_and_no_run(mw, qtbot, dialog, fake_openai) -> None:
    config = mw.addonManager.getConfig(PACKAGE)
    mw.addonManager.writeConfig(PACKAGE, config | {"base_url": "localhost:11434/v1"})
    dialog.set_source_text(FIVE_TOPICS)

    dialog.generate_button.click()

    assert dialog.run_state == "idle"
    assert dialog.status_text().startswith("Please fix the add-on's settings")
    assert "Base URL should start with http:// or https://" in dialog.status_text()
    assert fake_openai.requests == []
    notice = dialog.notices.notice(addon_module("ui.setup_notice").KEY)
    assert notice is not None and "Base URL should start with" in notice.label.text()
    assert "Open Settings…" in notice.buttons


def test_duplicates_of_notes_in_the_collection_are_flagged(
    mw, qtbot, configured, drafts_folder, fake_openai
) -> None:
    fake_openai.handler = Crew(cards_per_topic=1)
    dialog = open_dialog(mw, qtbot)
    try:
        generate(qtbot, dialog)
        dialog.table.select_rows([0])
        dialog.insert_button.click()
        qtbot.waitUntil(lambda: not dialog.adding, timeout=10_000)
    finally:
        close(dialog)

    dialog = open_dialog(mw, qtbot)
    try:
        qtbot.waitUntil(lambda: bool(dialog.duplicates.keys.get("basic")), timeout=5_000)
        generate(qtbot, dialog)
        flags = [dialog.model.data(dialog.model.index(row, 4)) for row in range(dialog.model.rowCount())]
        assert flags == ["duplicate"] * 5
    finally:
        close(dialog)
        mw.col.undo()


def test_night_mode_renders_the_card_with_anki_s_night_classes(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(cards_per_topic=1)
    generate(qtbot, dialog)
    night = theme_manager.night_mode
    theme_manager.night_mode = True
    try:
        dialog.table.selectRow(0)
        dialog.table.selectRow(1)  # shown again, now in night mode
        classes: list[str] = []

        def night_classes() -> bool:
            dialog.card_view.web.evalWithCallback("document.body.className", classes.append)
            return any("nightMode" in found for found in classes if found)

        qtbot.waitUntil(night_classes, timeout=5_000)
    finally:
        theme_manager.night_mode = night


# From notes: the Browser and the editor


def test_browser_selection_generates_from_each_note_and_cards_lead_back(
    mw, qtbot, configured, drafts_folder, fake_openai
) -> None:
    import aqt
    from aqt import gui_hooks
    from aqt.qt import QMenu

    fake_openai.handler = Crew(cards_per_topic=2)
    deck = "Trading::Indicators"
    sources = [
        add_basic_note(mw, "<b>RSI</b>", "Momentum.<br>## Relative Strength Index<br>From 0 to 100.", deck),
        add_basic_note(
            mw, "MACD", "Trend.<div>## MACD</div><div>Two <i>EMAs</i>.</div><img src='m.png'>", deck
        ),
    ]
    browser = aqt.dialogs.open("Browser", mw)
    try:
        browser.search_for(f"nid:{sources[0].id},{sources[1].id}")
        browser.table.select_all()
        menu = QMenu()
        gui_hooks.browser_will_show_context_menu(browser, menu)
        action = next(a for a in menu.actions() if a.text() == "Generate cards from selected notes")
        assert any(
            a.text() == "Generate cards from selected notes" for a in browser.form.menu_Notes.actions()
        )

        action.trigger()
        dialog = top_level("aicg_generate_dialog")
        qtbot.waitUntil(lambda: dialog.pipeline_state == "ready", timeout=30_000)
        assert dialog.source_picker.from_notes()
        assert [note.title for note in dialog.source_picker.notes()] == ["RSI", "MACD"]
        assert "m.png" not in dialog.source_picker.notes()[1].text
        assert dialog.deck_chooser.selected_deck_id == mw.col.decks.id(deck)

        dialog.generate_button.click()
        qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=60_000)
        assert dialog.run_state == "idle", dialog.status_text()
        assert {d.card.provenance.source_note_id for d in dialog.drafts()} == {n.id for n in sources}
        assert [dialog.model.data(dialog.model.index(r, 5)) for r in (0, 2)] == ["RSI", "MACD"]
        dialog.insert_button.click()
        qtbot.waitUntil(lambda: not dialog.adding and dialog.model.rowCount() == 0, timeout=10_000)
        close(dialog)

        # From the source note to its cards, and back.
        browser.search_for(f"nid:{sources[0].id}")
        browser.table.select_all()
        next(a for a in menu_for(browser) if a.text() == "Find cards generated from these notes").trigger()
        generated = list(mw.col.find_notes(browser.current_search()))
        assert len(generated) == 2
        note = mw.col.get_note(generated[0])
        assert note["Source"] == f"RSI (nid:{sources[0].id})"
        assert mw.col.decks.name(note.cards()[0].did) == deck
        browser.table.select_all()
        next(a for a in menu_for(browser) if a.text() == "Go to source note").trigger()
        assert list(mw.col.find_notes(browser.current_search())) == [sources[0].id]
    finally:
        close_browser(qtbot, browser)


def test_the_editor_button_in_the_browser_generates_from_that_note(
    mw, qtbot, configured, drafts_folder
) -> None:
    import aqt

    note = add_basic_note(mw, "Bollinger Bands", "Two standard deviations around a 20-period SMA")
    browser = aqt.dialogs.open("Browser", mw)
    try:
        browser.search_for(f"nid:{note.id}")
        browser.table.select_all()
        qtbot.waitUntil(lambda: browser.editor.note is not None and browser.editor.note.id == note.id)
        assert "aicg_generate" in browser.editor._links
        qtbot.wait(500)  # the editor's page loads
        browser.editor._links["aicg_generate"](browser.editor)
        dialog = wait_for_dialog(qtbot)
        [source] = dialog.source_picker.notes()
        assert (source.note_id, source.title) == (note.id, "Bollinger Bands")
        assert source.text == "Front: Bollinger Bands\n\nBack: Two standard deviations around a 20-period SMA"
        close(dialog)
    finally:
        close_browser(qtbot, browser)


def test_the_editor_button_in_the_add_window_generates_from_the_unsaved_note(
    mw, qtbot, configured, drafts_folder
) -> None:
    import aqt

    addcards = aqt.dialogs.open("AddCards", mw)
    try:
        editor = addcards.editor
        qtbot.waitUntil(
            lambda: getattr(editor, "_ready", True) and "aicg_generate" in editor._links, timeout=15_000
        )
        if getattr(editor, "note", None) is not None:
            editor.note.fields[0] = "MACD signal line"
        else:
            field = "require('anki/NoteEditor').instances[0].fields[0]"
            editor.web.eval(f"{field}.editingArea.content.set('MACD signal line')")
            qtbot.wait(300)
        editor._links["aicg_generate"](editor)
        dialog = wait_for_dialog(qtbot)
        [source] = dialog.source_picker.notes()
        assert (source.note_id, source.title) == (None, "MACD signal line")
        close(dialog)
    finally:
        addcards.close()


# The window's lifecycle: nothing raises, nothing is lost


def test_closing_mid_run_keeps_the_finished_cards_for_next_time(
    mw, qtbot, configured, drafts_folder, fake_openai
) -> None:
    fake_openai.handler = Crew(cards_per_topic=2, delay=slow_after_first_batch)
    dialog = open_dialog(mw, qtbot)
    dialog.set_source_text(FIVE_TOPICS, "Indicators")
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 4, timeout=30_000)

    dialog.reject()  # mid-run: the run stops, what finished is journaled
    qtbot.wait(1500)
    [path] = drafts_folder.glob("generate-*.json")
    saved = json.loads(path.read_text())["payload"]
    assert saved["status"] == "stopped" and len(saved["cards"]) >= 4

    dialog = open_dialog(mw, qtbot)
    try:
        assert "from “Indicators” were not added yet" in dialog.notices.text("drafts")
        dialog.drafts_menu.aboutToShow.emit()
        [entry] = [action.text() for action in dialog.drafts_menu.actions()]
        assert entry.startswith(f"Indicators — {len(saved['cards'])} cards — ")
        dialog.open_draft(path.stem.removeprefix("generate-"))
        assert dialog.model.rowCount() == len(saved["cards"])
    finally:
        close(dialog)


def test_a_run_interrupted_by_a_crash_is_offered_again(mw, qtbot, configured, drafts_folder) -> None:
    from tests.test_drafts import a_run

    journal = addon_module("drafts").drafts_journal(addon_module("ui.generate.dialog").USER_FILES)
    run = addon_module("drafts").DraftRun.model_validate(a_run("a", "b").model_dump())
    journal.save("crashed", run)  # status "running": Anki died mid-run
    journal.flush()
    (drafts_folder / "generate-broken.json").write_text("{not json")

    dialog = open_dialog(mw, qtbot)
    try:
        assert "set aside" in (dialog.notices.text("journal-0") or "")
        dialog.open_draft("crashed")
        assert dialog.model.rowCount() == 2
        assert dialog.status_text().startswith("This run was interrupted")
        dialog.earlier.discard()  # the notice's Discard button: all but the run shown
        assert [p.name for p in drafts_folder.glob("*.json")] == ["generate-crashed.json"]
    finally:
        close(dialog)


def test_closing_mid_add_finishes_the_add_and_marks_the_drafts(
    mw, qtbot, configured, drafts_folder, fake_openai
) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    dialog = open_dialog(mw, qtbot)
    generate(qtbot, dialog)
    notes_before = mw.col.note_count()
    closed: list[bool] = []

    dialog.insert_button.click()
    dialog.closeWithCallback(lambda: closed.append(True))  # the profile closes while the add runs
    assert not closed, "the collection may not close before the add is done"
    qtbot.waitUntil(lambda: bool(closed), timeout=10_000)

    assert mw.col.note_count() - notes_before == 10
    [entry] = addon_module("drafts").drafts_journal(addon_module("ui.generate.dialog").USER_FILES).load()[0]
    assert all(draft.outcome == "added" for draft in entry.payload.cards)
    mw.col.undo()


def test_the_window_never_freezes_during_a_run(mw, qtbot, dialog, fake_openai) -> None:
    qtbot.wait(1200)  # Anki collects garbage 1 s after a window closes (the last test's): not ours to time

    def run() -> None:
        generate(qtbot, dialog)
        assert dialog.model.rowCount() == 45, dialog.status_text()

    with crew_server(cards_per_topic=9, latency=0.2) as url:  # in its own process, as a real server is
        mw.addonManager.writeConfig(PACKAGE, server_config(mw, fake_openai) | {"base_url": url})
        assert_never_freezes(qtbot, run)

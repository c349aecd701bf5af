"""The Generate Cards dialog in the session's real Anki, against the local fake OpenAI server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aqt.qt import Qt

from tests.build_fixtures import PACKAGE
from tests.fake_openai import FakeOpenAI, Reply
from tests.pipeline_crew import FIVE_TOPICS, Crew

from .anki_app import menu_action, top_level


@pytest.fixture
def dialog(mw, qtbot, fake_openai: FakeOpenAI) -> Iterator:
    config = mw.addonManager.getConfig(PACKAGE)
    server = {"base_url": fake_openai.url, "model": fake_openai.model, "api_key": "sk-test"}
    mw.addonManager.writeConfig(PACKAGE, config | server)
    menu_action(mw, "Generate Cards…").trigger()
    dialog = top_level("aicg_generate_dialog")
    qtbot.waitUntil(lambda: dialog.pipeline_state == "ready", timeout=30_000)
    yield dialog
    if dialog.isVisible():
        dialog.reject()
    mw.addonManager.writeConfig(PACKAGE, config)


def test_generates_previews_and_adds_cards_in_one_undoable_step(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(cards_per_topic=3)
    notes_before = mw.col.note_count()
    dialog.set_source_text(FIVE_TOPICS)

    dialog.generate_button.click()
    assert dialog.run_state == "running"  # the window stays responsive while the run goes on
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=60_000)

    assert dialog.run_state == "idle", dialog.status_text()
    assert dialog.card_list.count() == len(dialog.cards) > 0
    assert f"{len(fake_openai.requests)} requests" in dialog.status_text()
    dialog.card_list.item(0).setCheckState(Qt.CheckState.Unchecked)  # the learner rejects one card
    expected = len(dialog.cards) - 1
    dialog.insert_button.click()
    qtbot.waitUntil(lambda: not dialog.cards, timeout=10_000)  # the dialog empties its list once added
    assert mw.col.note_count() - notes_before == expected
    assert mw.col.undo_status().undo == "Generate Cards"
    mw.col.undo()
    assert mw.col.note_count() == notes_before


def test_a_failing_server_shows_a_clear_message_and_keeps_the_text(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = lambda request: Reply.error(401, "bad key sk-test")
    dialog.set_source_text(FIVE_TOPICS)

    dialog.generate_button.click()
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=30_000)

    assert dialog.run_state == "failed"
    assert "401" in dialog.status_text() and "sk-test" not in dialog.status_text()
    assert dialog.source_edit.toPlainText() == FIVE_TOPICS
    assert dialog.generate_button.isEnabled()


def test_stop_cancels_a_slow_run_promptly(mw, qtbot, dialog, fake_openai) -> None:
    fake_openai.handler = Crew(delay=lambda schema, request: 5.0)
    dialog.set_source_text(FIVE_TOPICS)
    dialog.generate_button.click()
    qtbot.wait(300)

    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.run_state != "running", timeout=3_000)
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

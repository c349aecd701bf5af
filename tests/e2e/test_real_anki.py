"""Real Anki, launched in its own environment with only Anki's packages, with the built add-on installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.build_fixtures import PACKAGE
from tests.fake_openai import FakeOpenAI, Reply, Request
from tests.pipeline_crew import FIVE_TOPICS, Crew, task

from .envs import ANKI_ENVS, ensure_env
from .run_anki import run_anki

CONFLICTING_ADDON = Path(__file__).parent / "conflicting_addon"


@pytest.mark.parametrize("env_name", list(ANKI_ENVS))
def test_starts_without_llama_index_loads_the_vendored_copy_on_first_use_and_adds_cards(
    env_name: str, tmp_path: Path, local_addon: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    fake_openai.on("ConnectionCheck", Reply.json({"ok": True}))
    run = run_anki(
        ensure_env(env_name),
        tmp_path,
        steps=["first_use", "settings", "generate", "from_browser"],
        addon=local_addon,
        source_text=FIVE_TOPICS,
        config={"base_url": fake_openai.url, "model": fake_openai.model, "api_key": "sk-e2e-test"},
    )

    assert run.report["menu_entry"], "Tools → Generate Cards… is missing"
    loaded_at_startup = {name for name, file in run.report["modules_at_startup"].items() if file}
    assert not loaded_at_startup, f"imported during Anki's start-up: {loaded_at_startup}"
    first_use = run.report["steps"]["first_use"]
    assert first_use["state"] == "ready", first_use["status"]
    libs = run.base / "addons21" / PACKAGE / "libs"
    for name in ("llama_index", "pydantic", "pydantic_core", "tenacity"):
        assert first_use["modules"][name], f"{name} was not imported on first use"
        assert Path(first_use["modules"][name]).is_relative_to(libs), first_use["modules"][name]
    settings = run.report["steps"]["settings"]  # opened by the add-on's Config button in Tools → Add-ons
    assert (settings["state"], settings["status"], settings["key_masked"]) == ("ready", "", True)
    assert settings["models"] == [fake_openai.model], settings["model_hint"]
    assert settings["verdict"].startswith(f"Works: {fake_openai.model} answered in "), settings["verdict"]
    assert settings["saved_structured_output"] == "json_schema"
    [generate] = run.report["steps"]["generate"]
    assert generate["generated"] > 0, generate["status"]
    assert generate["inserted"] == generate["generated"], generate["status"]
    from_browser = run.report["steps"]["from_browser"]
    [browser_run] = run.report["steps"]["from_browser_run"]
    assert from_browser["in_notes_menu"]
    assert from_browser["picked"] == from_browser["sources"], "one source per selected note"
    assert browser_run["inserted"] == browser_run["generated"] > 0, browser_run["status"]
    assert from_browser["generated_from_first"] == 2  # the crew writes two cards per topic
    assert from_browser["source_field"] == f"Source note 1 (nid:{from_browser['sources'][0]})"
    assert from_browser["deck"] == "From notes", "cards go to their note's deck"
    assert from_browser["back_to_source"] == from_browser["sources"][:1]
    assert not run.tracebacks, run.tracebacks
    assert "should have been closed" not in run.output  # our dialog closes with the profile
    assert "sk-e2e-test" not in run.output and "sk-e2e-test" not in json.dumps(run.report)
    assert run.report["messages"] == []


def test_quitting_anki_mid_run_keeps_the_cards_in_the_drafts_journal(
    tmp_path: Path, local_addon: Path, fake_openai: FakeOpenAI
) -> None:
    def later_batches_slow(schema: str, request: Request) -> float:
        first = task(request).startswith("Topics: Relative Strength Index;")  # and MACD
        return 5.0 if schema == "Review" and not first else 0.0

    fake_openai.handler = Crew(cards_per_topic=2, delay=later_batches_slow)
    run = run_anki(
        ensure_env("anki-26.5"),
        tmp_path,
        steps=["first_use", "quit_mid_run"],
        addon=local_addon,
        source_text=FIVE_TOPICS,
        config={"base_url": fake_openai.url, "model": fake_openai.model, "api_key": "sk-e2e-test"},
    )

    quit_step = run.report["steps"]["quit_mid_run"]
    assert quit_step["running"] and quit_step["shown"] == 4, "the first batch: two topics, two cards each"
    [journal] = (run.base / "addons21" / PACKAGE / "user_files" / "drafts").glob("generate-*.json")
    saved = json.loads(journal.read_text())["payload"]
    assert saved["title"] == "Quit mid-run" and len(saved["cards"]) >= 4
    assert not run.tracebacks, run.tracebacks
    assert "should have been closed" not in run.output


def test_another_addons_pydantic_fails_this_addon_alone_with_a_clear_message(
    tmp_path: Path, local_addon: Path
) -> None:
    run = run_anki(
        ensure_env("anki-26.5"),
        tmp_path,
        steps=["first_use"],
        addon=local_addon,
        extra_addons={"aaa_other_addon": CONFLICTING_ADDON},
    )

    first_use = run.report["steps"]["first_use"]
    assert first_use["state"] == "failed"
    assert "pydantic" in first_use["status"]
    assert "aaa_other_addon" in first_use["status"]
    assert not run.tracebacks, run.tracebacks
    assert "should have been closed" not in run.output  # our dialog closes with the profile
    assert run.report["messages"] == []


def test_reviewing_studied_cards_applies_in_one_undo_step_and_keeps_their_history(
    tmp_path: Path, local_addon: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.handler = Crew()
    run = run_anki(
        ensure_env("anki-26.5"),
        tmp_path,
        steps=["review"],
        addon=local_addon,
        config={"base_url": fake_openai.url, "model": fake_openai.model, "api_key": "sk-e2e-test"},
    )

    review = run.report["steps"]["review"]
    assert review["in_notes_menu"]
    assert review["verdicts"] == {"split": "split", "rewrite": "rewrite", "keep": "keep"}, review["status"]
    assert review["status"].startswith("Applied 2 suggestions."), review["status"]
    assert review["rewritten_back"] == "The speed and size of recent price changes"
    assert review["ids_and_revlog_kept"] and review["rewrite_history_same"]
    assert "ai-review::split" in review["split_tags"] and review["split_suspended"]
    assert review["notes_added"] == 2 and review["undo_name"] == "Apply AI Review"
    assert review["after_undo_same"] and review["after_undo_notes"] == 0
    assert review["after_undo_back"].startswith("The speed and size of recent price changes of one stock")
    assert not run.tracebacks, run.tracebacks
    assert "should have been closed" not in run.output
    assert run.report["messages"] == []

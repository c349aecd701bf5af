"""Real Anki, launched in its own environment with only Anki's packages, with the built add-on installed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.build_fixtures import PACKAGE
from tests.card_safety import field_problems, html_problems
from tests.fake_openai import FakeOpenAI, Reply, Request
from tests.faults import KEY, TEXT, hostile, is_clear
from tests.pipeline_crew import FIVE_TOPICS, Crew, keep_all, task

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


FAILING = "## A server that fails\nEvery request about this text gets a server error: zz-fails-every-time.\n"
HOSTILE_TEXT = TEXT + "\nzz-hostile-output\n"


def fault_server(request: Request, crew: Crew) -> Reply:
    """The crew, but a 500 for every request about FAILING, hostile markup in every field about
    HOSTILE_TEXT, and the five topics' later batches' reviews held 5 s (so that a run is still going when
    the learner switches profile or quits)."""
    body = json.dumps(request.body)
    if "zz-fails-every-time" in body:
        return Reply.error(500, "the model server is down")
    if "zz-hostile-output" in body:
        return hostile(request, crew)
    reply = crew(request)
    first = task(request).startswith("Topics: Relative Strength Index;")  # the first batch, with MACD
    slow = request.schema_name == "Review" and not first and "Bollinger" in body
    return dataclasses.replace(reply, delay=5.0) if slow else reply


@pytest.mark.parametrize("env_name", list(ANKI_ENVS))
def test_faults_only_a_real_anki_shows(
    env_name: str, tmp_path: Path, local_addon: Path, fake_openai: FakeOpenAI
) -> None:
    """A failing server, hostile output added and shown in the reviewer, switching profile and quitting
    Anki mid-run: no traceback, no error window, nothing unsafe on the page, every card in the journal."""
    crew = Crew(cards_per_topic=2, review=keep_all)
    fake_openai.handler = lambda request: fault_server(request, crew)
    run = run_anki(
        ensure_env(env_name),
        tmp_path,
        steps=["first_use", "failing_server", "hostile", "switch_profile_mid_run", "quit_mid_run"],
        addon=local_addon,
        source_text=FIVE_TOPICS,
        fault_texts={"failing_server": FAILING, "hostile": HOSTILE_TEXT},
        config={"base_url": fake_openai.url, "model": fake_openai.model, "api_key": KEY, "max_backoff": 0.05},
    )

    failing = run.report["steps"]["failing_server"]
    assert failing["state"] == "failed" and failing["shown"] == 0 and failing["generate_enabled"]
    assert "500 Internal Server Error" in failing["status"] and is_clear(failing["status"]), failing

    shown = run.report["steps"]["hostile"]
    # Every card made is added (cards the hostile text makes look alike are dropped as repeats, and said so).
    assert shown["generated"] == shown["notes"] == len(shown["cards"]) > 0, shown["status"]
    for card in shown["cards"]:
        assert [problem for field in card["fields"] for problem in field_problems(field)] == []
        assert html_problems(card["question"] + card["answer"]) == [] and card["sounds"] == 0
    for page in (shown["preview"], shown["reviewer_question"], shown["reviewer_answer"]):
        assert "{{Back}}" in page["text"], page  # the hostile card is shown, its template syntax as text
        assert (page["active"], page["handlers"], page["remote"], page["script_links"], page["flag"]) == (
            0, 0, 0, 0, 0,
        ), page  # fmt: skip

    switched = run.report["steps"]["switch_profile_mid_run"]
    assert switched["running"] and switched["shown"] >= 4 and switched["profile"] == "User 2"
    assert "from “Switched mid-run” were not added yet" in switched["notice"], switched["notice"]
    quit_step = run.report["steps"]["quit_mid_run"]
    assert quit_step["running"] and quit_step["shown"] >= 4, "the first batch: two topics, two cards each"
    journal = run.base / "addons21" / PACKAGE / "user_files" / "drafts"
    runs = [json.loads(path.read_text())["payload"] for path in journal.glob("*.json")]
    saved = {journaled["title"]: journaled for journaled in runs}
    for title, step in (("Switched mid-run", switched), ("Quit mid-run", quit_step)):
        assert len(saved[title]["cards"]) >= step["shown"], title
        message = saved[title]["message"]  # shown when the run is opened again
        assert message == "" or is_clear(message), message
    assert not run.tracebacks, run.tracebacks
    assert "should have been closed" not in run.output
    assert KEY not in run.output and KEY not in json.dumps(run.report)
    assert run.report["messages"] == []


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

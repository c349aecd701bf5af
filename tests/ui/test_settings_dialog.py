"""The settings window in the session's real Anki, against real local servers: presets, local servers found,
the model list, Test connection's verdicts with the window responsive, the key kept out of sight, invalid
values refused, config.json round trips, and the first-run notice in the generate dialog."""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Iterator
from typing import Any

import aqt
import pytest
from aqt.qt import QLineEdit, Qt, sip

from tests.build_fixtures import PACKAGE
from tests.fake_openai import FakeOpenAI, Reply, Request

from .anki_app import FREEZE_MS, Heartbeat, addon_module, menu_action, top_level

KEY = "sk-test-SETTINGS-never-shown-93b1"
OK = {"ok": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_presets(**ports: int) -> tuple:
    """The add-on's local presets as Anki loaded them, on these ports (by first word) or dead ones."""
    presets = addon_module("pipeline.llm.presets").LOCAL_PRESETS
    return tuple(dataclasses.replace(p, port=ports.get(p.name.split()[0], free_port())) for p in presets)


def look_at(monkeypatch, candidates: tuple) -> None:
    """Have the window look for local servers at these presets (and ports) only."""
    monkeypatch.setattr(addon_module("ui.local_servers").LocalServersRow, "candidates", candidates)


def setup_key() -> str:
    """The key of the generate dialog's notice about the settings."""
    return str(addon_module("ui.setup_notice").KEY)


@pytest.fixture
def use_config(mw, monkeypatch) -> Iterator:
    """Write config.json values over the defaults (as a hand edit would); the config is restored after."""
    saved = mw.addonManager.getConfig(PACKAGE)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def write(**values: Any) -> dict[str, Any]:
        config = mw.addonManager.addonConfigDefaults(PACKAGE) | values
        mw.addonManager.writeConfig(PACKAGE, config)
        return config

    yield write
    mw.addonManager.writeConfig(PACKAGE, saved)


@pytest.fixture(autouse=True)
def offline(mw, monkeypatch) -> None:
    """Nothing leaves this computer: the window looks for local servers on dead ports unless a test gives
    it its own, and https requests (a provider's model list) go to a proxy that is not there."""
    look_at(monkeypatch, local_presets())
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def open_settings(mw, qtbot, monkeypatch, fake_openai: FakeOpenAI, use_config) -> Iterator:
    """Open the window with the add-on's Config button action, once the config points at the fake server
    (unless the test wrote its own); nothing is probed but the ports given."""
    opened = []

    def open_(*, local: tuple = (), config: dict | None = None):
        if config is None:
            use_config(base_url=fake_openai.url, model=fake_openai.model)
        if local:
            look_at(monkeypatch, local)
        mw.addonManager.configAction(PACKAGE)()
        dialog = top_level("aicg_settings_dialog")
        opened.append(dialog)
        qtbot.waitUntil(lambda: dialog.state == "ready" and dialog.local.servers is not None, timeout=30_000)
        qtbot.waitUntil(lambda: "Asking" not in dialog.model_hint.text(), timeout=15_000)
        return dialog

    yield open_
    for dialog in opened:
        if not sip.isdeleted(dialog) and dialog.isVisible():
            dialog.reject()


def settings_window(qtbot):
    """The settings window, once it is shown and has loaded the config."""
    shown = ("aicg_settings_dialog", True)
    qtbot.waitUntil(
        lambda: shown in {(w.objectName(), w.isVisible()) for w in aqt.QApplication.topLevelWidgets()}
    )
    dialog = top_level("aicg_settings_dialog")
    qtbot.waitUntil(lambda: dialog.state == "ready", timeout=30_000)
    return dialog


def saved_config(mw) -> dict[str, Any]:
    return mw.addonManager.getConfig(PACKAGE)


def type_into(qtbot, field: QLineEdit, text: str) -> None:
    field.selectAll()
    qtbot.keyClick(field, Qt.Key.Key_Delete)
    qtbot.keyClicks(field, text)


def test_the_config_button_and_the_tools_menu_open_the_same_window(mw, qtbot, open_settings) -> None:
    dialog = open_settings()

    menu_action(mw, "Generate Cards Settings…").trigger()

    assert top_level("aicg_settings_dialog") is dialog
    assert dialog.windowTitle() == "AI Card Generator Settings"
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == [
        "Connection",
        "Cards",
        "Limits and cost",
    ]


def test_the_config_button_of_the_addons_window_opens_it(mw, qtbot, open_settings, use_config) -> None:
    use_config(base_url="http://127.0.0.1:9/v1")
    addons = aqt.dialogs.open("AddonsDialog", mw.addonManager)
    try:
        row = next(i for i in range(addons.form.addonList.count()) if addons.addons[i].dir_name == PACKAGE)
        addons.form.addonList.setCurrentRow(row)
        addons.form.config.click()
        dialog = settings_window(qtbot)
        assert dialog.values()["base_url"] == "http://127.0.0.1:9/v1"
        dialog.reject()
    finally:
        addons.close()


# --- providers, local servers, models ----------------------------------------------------------------------


def test_presets_fill_the_base_url_and_key_variable(mw, qtbot, open_settings) -> None:
    dialog = open_settings()
    dialog.api_key.setText(KEY)

    choose(dialog, "OpenRouter")

    values = dialog.values()
    assert (values["base_url"], values["api_key_env"]) == (
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
    )
    assert values["api_key"] == ""  # a key belongs to the provider that issued it
    choose(dialog, "Custom")
    assert dialog.values()["base_url"] == "https://openrouter.ai/api/v1"  # Custom leaves the fields alone
    type_into(qtbot, dialog.base_url, "http://localhost:1234/v1")
    assert dialog.provider.currentText() == "LM Studio"  # the provider follows the address
    choose(dialog, "OpenAI")
    assert dialog.values()["base_url"] == "https://api.openai.com/v1"
    qtbot.waitUntil(lambda: "Asking" not in dialog.model_hint.text())
    assert dialog.model_hint.text().startswith("No model list, so type the name. Could not reach the model")


def choose(dialog, provider: str) -> None:
    index = dialog.provider.findText(provider)
    dialog.provider.setCurrentIndex(index)
    dialog.provider.activated.emit(index)


def test_a_local_server_is_found_offered_and_used(mw, qtbot, open_settings, fake_openai) -> None:
    fake_openai.models = ["qwen2.5:7b", "llama3.1:latest"]
    dialog = open_settings(local=local_presets(Ollama=fake_openai.port), config=use_dead_port(mw))
    assert [b.text() for b in dialog.local.buttons] == [f"Ollama on port {fake_openai.port} (2 models)"]
    assert dialog.local.label.text() == "Found:"

    with Heartbeat() as heartbeat:  # looking again, and listing models, in the background
        dialog.local.look_again_button.click()
        assert dialog.local.label.text().startswith("Looking for ") and not dialog.local.buttons
        qtbot.waitUntil(lambda: bool(dialog.local.buttons))
        asked = dialog._model_requests  # of the configured dead port: refused at once, "Asking…" flashes by
        qtbot.keyClicks(dialog.api_key_env, "ANY_KEY")  # the model list is asked for again after a pause
        qtbot.waitUntil(lambda: dialog._model_requests > asked and "Asking" not in dialog.model_hint.text())
    dialog.local.buttons[0].click()

    values = dialog.values()
    used = (values["base_url"], values["model"], values["api_key_env"])
    assert used == (fake_openai.url, "llama3.1:latest", "")
    assert dialog.provider.currentText() == "Ollama"
    assert [dialog.model.itemText(i) for i in range(dialog.model.count())] == [
        "llama3.1:latest",
        "qwen2.5:7b",
    ]
    assert heartbeat.worst_ms < FREEZE_MS, f"the window froze for {heartbeat.worst_ms:.0f} ms"


def use_dead_port(mw) -> dict[str, Any]:
    config = mw.addonManager.addonConfigDefaults(PACKAGE) | {"base_url": f"http://127.0.0.1:{free_port()}/v1"}
    mw.addonManager.writeConfig(PACKAGE, config)
    return config


def test_no_local_server_is_said_and_looked_for_again(mw, qtbot, open_settings, fake_openai, monkeypatch):
    dialog = open_settings()
    assert dialog.local.label.text() == (
        "No server found (LiteLLM proxy, Ollama, LM Studio, llama.cpp server on their usual ports)."
    )
    look_at(monkeypatch, local_presets(LM=fake_openai.port))

    dialog.local.look_again_button.click()

    qtbot.waitUntil(lambda: bool(dialog.local.buttons))
    assert dialog.local.buttons[0].text() == f"LM Studio on port {fake_openai.port} (1 model)"


def test_the_model_list_comes_from_the_server_with_the_key(mw, qtbot, open_settings, fake_openai) -> None:
    fake_openai.api_key = KEY
    fake_openai.models = ["gpt-4o", "gpt-4o-mini", "o3"]
    dialog = open_settings()
    assert dialog.model.count() == 0
    assert "No model list, so type the name. The model server at 127.0.0.1" in dialog.model_hint.text()
    assert "wants an API key (401 Unauthorized); none is set." in dialog.model_hint.text()

    qtbot.keyClicks(dialog.api_key, KEY)

    qtbot.waitUntil(lambda: dialog.model.count() == 3, timeout=10_000)
    assert dialog.model_hint.text() == "The server lists 3 models; type to filter."
    assert dialog.values()["model"] == fake_openai.model  # the learner's choice stays until they pick


# --- Test connection ---------------------------------------------------------------------------------------


def refuses_response_format(request: Request) -> Reply:
    if "response_format" in request.body:
        return Reply.error(400, "response_format is not supported")
    return Reply.json(OK)


OUTCOMES = {
    "works": (lambda r: Reply.json(OK), {}, "Works: fake-model answered in "),
    "401": (lambda r: Reply.error(401, f"Incorrect API key provided: {KEY}"), {"api_key": KEY},
            "The API key was rejected (401 Unauthorized) by the model server at 127.0.0.1:"),
    "404": (lambda r: Reply.error(404, "model not found"), {"model": "llama9"},
            "has no model 'llama9'. It lists: fake-model, other-model."),
    "429": (lambda r: Reply.error(429), {}, "is rate limiting (429 Too Many Requests): wait a minute"),
    "timeout": (lambda r: Reply.json(OK, delay=3), {"request_timeout": 1},
                "did not answer within 1 s. A local model may still be loading"),
}  # fmt: skip


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_test_connection_says_what_happened_and_the_window_stays_responsive(
    mw, qtbot, open_settings, use_config, fake_openai, outcome: str
) -> None:
    handler, config, expected = OUTCOMES[outcome]
    fake_openai.handler = handler
    fake_openai.models = ["fake-model", "other-model"]
    dialog = open_settings(config=use_config(**{"base_url": fake_openai.url, "model": "fake-model"} | config))

    with Heartbeat() as heartbeat:
        dialog.test_button.click()
        assert dialog.testing and not dialog.test_button.isEnabled()  # the test runs in the background
        assert dialog.test_button.text() == "Testing…"
        qtbot.waitUntil(lambda: not dialog.testing, timeout=20_000)

    assert expected in dialog.verdict_text()
    assert KEY not in dialog.verdict_text()
    assert dialog.test_button.isEnabled()
    assert heartbeat.worst_ms < FREEZE_MS, f"the window froze for {heartbeat.worst_ms:.0f} ms"
    if outcome == "404":
        assert dialog.model.count() == 2  # the server's models, to pick from


def test_test_connection_to_a_dead_port_says_unreachable(mw, qtbot, open_settings) -> None:
    config = use_dead_port(mw)
    dialog = open_settings(config=config)

    dialog.test_button.click()
    qtbot.waitUntil(lambda: not dialog.testing, timeout=10_000)

    port = config["base_url"].split(":")[2].split("/")[0]
    assert dialog.verdict_text() == (
        f"Could not reach the model server at 127.0.0.1:{port} (ConnectError). Check the base URL, and that "
        "the server is running."
    )


def test_the_structured_output_mode_found_is_saved(mw, qtbot, open_settings, fake_openai) -> None:
    fake_openai.handler = refuses_response_format
    dialog = open_settings()
    assert dialog.structured_output.currentData() == "json_schema"

    dialog.test_button.click()
    qtbot.waitUntil(lambda: not dialog.testing, timeout=10_000)

    assert "it ignored JSON-schema output, so the add-on will use function calling" in dialog.verdict_text()
    assert dialog.structured_output.currentData() == "function_calling"
    dialog.save_button.click()
    assert not dialog.isVisible()
    assert saved_config(mw)["structured_output"] == "function_calling"


# --- the key -----------------------------------------------------------------------------------------------


def test_the_key_is_masked_and_never_in_a_message_or_a_log(mw, qtbot, open_settings, use_config, fake_openai,
                                                            caplog, capfd) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    fake_openai.api_key = "sk-another-key"  # the server quotes the key it got in its 401
    dialog = open_settings(config=use_config(base_url=fake_openai.url, model="fake-model", api_key=KEY))
    assert dialog.api_key.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.api_key.text() == KEY

    dialog.show_key_button.click()
    assert dialog.api_key.echoMode() == QLineEdit.EchoMode.Normal and dialog.show_key_button.text() == "Hide"
    dialog.show_key_button.click()
    assert dialog.api_key.echoMode() == QLineEdit.EchoMode.Password
    dialog.test_button.click()
    qtbot.waitUntil(lambda: not dialog.testing, timeout=10_000)

    assert "rejected (401 Unauthorized)" in dialog.verdict_text()
    shown = [
        dialog.status_text(),
        dialog.verdict_text(),
        dialog.model_hint.text(),
        dialog.env_hint.text(),
        dialog.local.label.text(),
    ]
    out, err = capfd.readouterr()
    assert not [text for text in (*shown, caplog.text, out, err) if KEY in text]
    assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {KEY}"  # it was sent, though


def test_the_key_variable_says_whether_anki_sees_it(mw, qtbot, open_settings, monkeypatch) -> None:
    monkeypatch.setenv("AICG_TEST_KEY", KEY)
    dialog = open_settings()

    type_into(qtbot, dialog.api_key_env, "AICG_TEST_KEY")
    assert dialog.env_hint.text() == "AICG_TEST_KEY is set in Anki's environment: its key is used."
    type_into(qtbot, dialog.api_key_env, "AICG_MISSING")
    assert dialog.env_hint.text().startswith("AICG_MISSING is not set in Anki's environment")
    qtbot.keyClicks(dialog.api_key, "sk-x")
    assert dialog.env_hint.text() == "Not used: the key field above is filled in."


# --- checking, saving, round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("base_url", "", "Base URL is empty; enter the server's address"),
        ("base_url", "localhost:11434/v1", "Base URL should start with http:// or https:// and name a host"),
        ("model", " ", "Model is empty; enter the name of a model the server has"),
    ],
)
def test_invalid_values_are_refused_with_one_line_naming_them(mw, qtbot, open_settings, key, text, message):
    dialog = open_settings()
    before = saved_config(mw)
    field = dialog.base_url if key == "base_url" else dialog.model.lineEdit()
    type_into(qtbot, field, text)

    dialog.save_button.click()

    assert dialog.isVisible() and dialog.status_text().startswith(message)
    assert saved_config(mw) == before
    assert dialog.tabs.currentIndex() == 0 and field.hasFocus()
    dialog.test_button.click()  # Test connection refuses it too, without a request
    assert not dialog.testing and dialog.status_text().startswith(message)


def test_numbers_stay_within_the_settings_limits(mw, qtbot, open_settings) -> None:
    dialog = open_settings()
    spins = dialog.form.spins

    spins["max_concurrency"].setValue(-3)
    spins["temperature"].setValue(5)
    spins["request_timeout"].setValue(0)

    assert (spins["max_concurrency"].value(), spins["temperature"].value()) == (1, 2)
    assert spins["request_timeout"].value() == 1  # more than 0, in whole seconds
    assert dialog.form._hints["temperature"].text() == "Low values give steadier cards (0–2)."
    assert dialog.form._hints["context_window"].text().endswith("(1,024–10,000,000 tokens).")
    spins["max_reply_tokens"].setValue(100)
    assert spins["max_reply_tokens"].value() == 256
    assert dialog.form._hints["max_reply_tokens"].text() == (
        "The longest answer asked of the model, never more than half the context window"
        " (256–1,000,000 tokens)."
    )


def test_math_offers_the_three_choices_in_words_and_saves_the_one_picked(mw, qtbot, open_settings) -> None:
    dialog = open_settings()
    box = dialog.form.math
    assert dialog.form.widget_for("math") is box and dialog.tabs.widget(1).isAncestorOf(box)
    assert [box.itemText(i) for i in range(box.count())] == [
        "Only where the text has math, as MathJax",
        "Always, as MathJax",
        "Also Anki's LaTeX tags (runs LaTeX on this computer)",
    ]
    assert box.currentData() == "source"

    box.setCurrentIndex(box.findData("latex"))
    dialog.form.spins["max_reply_tokens"].setValue(4000)
    dialog.save_button.click()

    assert (saved_config(mw)["math"], saved_config(mw)["max_reply_tokens"]) == ("latex", 4000)


HAND_EDITED = {
    "model": "fake-model",
    "api_key": KEY,
    "api_key_env": "",
    "structured_output": "json_text",
    "temperature": 0.7,
    "context_window": 32000,
    "max_reply_tokens": 3000,
    "mode": "orchestrator",
    "math": "mathjax",
    "target_language": "German",
    "default_tags": ["reading", "biology"],
    "max_concurrency": 2,
    "request_timeout": 90,
    "max_attempts": 3,
    "max_backoff": 12.5,
    "max_requests_per_run": 50,
    "run_timeout": 300,
    "orchestrator_max_steps": 20,
    "price_per_million_prompt": 0.15,
    "price_per_million_completion": 0.6,
    "my_note": "a key the add-on does not know is kept as it is",
}


def test_config_json_round_trips_through_the_window(
    mw, qtbot, open_settings, use_config, fake_openai
) -> None:
    hand_edited = use_config(base_url=fake_openai.url, **HAND_EDITED)
    dialog = open_settings(config=hand_edited)
    assert dialog.form.spins["max_requests_per_run"].value() == 50 and dialog.form.priced.isChecked()
    assert dialog.form.tags.text() == "reading biology"

    dialog.save_button.click()

    assert not dialog.isVisible()
    assert saved_config(mw) == hand_edited


def test_edits_are_saved_and_cancel_drops_them(mw, qtbot, open_settings) -> None:
    dialog = open_settings()
    dialog.form.spins["max_requests_per_run"].setValue(75)
    type_into(qtbot, dialog.form.tags, "ai  cards")
    dialog.form.priced.setChecked(True)
    dialog.form.spins["price_per_million_prompt"].setValue(2.5)
    dialog.save_button.click()
    config = saved_config(mw)
    assert (config["max_requests_per_run"], config["default_tags"]) == (75, ["ai", "cards"])
    assert (config["price_per_million_prompt"], config["price_per_million_completion"]) == (2.5, 0.0)

    dialog = open_settings(config=config)
    dialog.form.spins["max_requests_per_run"].setValue(10)
    dialog.reject()
    assert saved_config(mw)["max_requests_per_run"] == 75


def test_a_broken_config_json_opens_with_defaults_and_says_which(mw, qtbot, open_settings, use_config,
                                                                  fake_openai) -> None:  # fmt: skip
    broken = use_config(
        base_url=fake_openai.url, model="fake-model", temperature="warm", max_concurrency=-2, math="tex"
    )
    dialog = open_settings(config=broken)

    assert (
        dialog.form.spins["temperature"].value() == 0.2 and dialog.form.spins["max_concurrency"].value() == 4
    )
    assert dialog.status_text().startswith("Temperature should be a valid number")
    assert (
        "Concurrent requests should be greater than or equal to 1 (max_concurrency in the config); using "
        "the default, 4." in dialog.status_text()
    )
    assert "Math in cards should be 'source', 'mathjax' or 'latex'" in dialog.status_text()
    assert dialog.form.math.currentData() == "source"
    dialog.save_button.click()
    assert (saved_config(mw)["temperature"], saved_config(mw)["max_concurrency"]) == (0.2, 4)
    assert saved_config(mw)["math"] == "source"


def test_restore_defaults_keeps_the_connection(mw, qtbot, open_settings, use_config, fake_openai) -> None:
    dialog = open_settings(
        config=use_config(base_url=fake_openai.url, model="m", api_key=KEY, max_attempts=9, math="latex")
    )

    dialog.restore_button.click()

    values = dialog.values()
    assert (values["base_url"], values["model"], values["api_key"]) == (fake_openai.url, "m", KEY)
    assert (values["max_attempts"], values["math"]) == (4, "source")


# --- first run ---------------------------------------------------------------------------------------------


def test_a_first_run_says_so_in_the_generate_dialog_with_a_way_to_the_settings(
    mw, qtbot, use_config, fake_openai, monkeypatch
) -> None:
    use_config(base_url="https://api.example.invalid/v1")  # no key anywhere, no local server
    menu_action(mw, "Generate Cards…").trigger()
    generate = top_level("aicg_generate_dialog")
    try:
        qtbot.waitUntil(lambda: generate.pipeline_state == "ready", timeout=30_000)
        notice = generate.notices.notice(setup_key())
        assert notice is not None and notice.isVisible()
        assert notice.label.text() == (
            "No API key and no local model server are set up yet, so there is nothing to generate with."
        )
        local = local_presets(Ollama=fake_openai.port)
        look_at(monkeypatch, local)
        notice.buttons["Open Settings…"].click()
        settings = settings_window(qtbot)
        qtbot.waitUntil(lambda: bool(settings.local.buttons))
        settings.local.buttons[0].click()  # the Ollama found on this computer, which needs no key
        settings.save_button.click()

        assert generate.notices.notice(setup_key()) is None
    finally:
        generate.reject()


def test_the_generate_dialog_says_which_hand_edited_values_it_replaced(mw, qtbot, use_config, fake_openai):
    use_config(base_url=fake_openai.url, run_timeout="soon")
    menu_action(mw, "Generate Cards…").trigger()
    generate = top_level("aicg_generate_dialog")
    try:
        qtbot.waitUntil(lambda: generate.pipeline_state == "ready", timeout=30_000)
        assert generate.notices.text(setup_key()) == (
            "config.json has values the add-on can't use: Time limit per run should be a valid number, "
            "unable to parse string as a number (run_timeout in the config); using the default, 600.0."
        )
    finally:
        generate.reject()

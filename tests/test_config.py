"""config.py, the one door to settings: config.json and config.md in step with the settings, hand edits
with the wrong types falling back to defaults with a message, the endpoint never silently replaced, limits
read from the settings themselves, and the first-run check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from addon import config
from addon.config import SettingsError, check_config, needs_first_setup, settings_from, setup_message

ADDON = Path(__file__).resolve().parents[1] / "addon"
CONFIG_JSON = json.loads((ADDON / "config.json").read_text(encoding="utf-8"))


def test_config_json_holds_every_setting_with_its_default() -> None:
    assert CONFIG_JSON == config.defaults()
    assert list(CONFIG_JSON) == [k for k in CONFIG_JSON if k in config.LABELS]
    assert set(CONFIG_JSON) == set(config.LABELS)


def test_config_md_documents_every_key() -> None:
    documented = set(re.findall(r"`([a-z_]+)`", (ADDON / "config.md").read_text(encoding="utf-8")))
    assert set(CONFIG_JSON) <= documented


def test_choices_are_the_values_the_settings_accept() -> None:
    for key, choices in config.CHOICES.items():
        for value in choices:
            assert settings_from({key: value})
        with pytest.raises(SettingsError, match=config.LABELS[key]):
            settings_from({key: "something else"})


def test_a_hand_edited_config_with_wrong_types_runs_on_defaults_and_says_so() -> None:
    checked = check_config(
        CONFIG_JSON | {"temperature": "warm", "max_concurrency": -3, "mode": "fast", "default_tags": 5}
    )

    settings = settings_from(checked.values)
    assert (settings.llm.temperature, settings.max_concurrency, settings.mode) == (0.2, 4, "planned")
    assert checked.values["default_tags"] == [] and checked.error is None
    assert checked.problems == [
        "Temperature should be a valid number, unable to parse string as a number (temperature in the "
        "config); using the default, 0.2.",
        "Route should be 'planned' or 'orchestrator' (mode in the config); using the default, \"planned\".",
        "Concurrent requests should be greater than or equal to 1 (max_concurrency in the config); using the "
        "default, 4.",
        'Default tags should be a list of tags, e.g. ["reading", "ai"] (default_tags in the config); using '
        "none.",
    ]
    assert checked.values["temperature"] == 0.2 and checked.values["base_url"] == CONFIG_JSON["base_url"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"base_url": ""}, "Base URL is empty; enter the server's address, e.g. http://localhost:11434/v1"),
        ({"base_url": "localhost:11434/v1"}, "Base URL should start with http:// or https://"),
        ({"base_url": 11434}, "Base URL should be a valid string (base_url in the config)."),
        ({"model": "  "}, "Model is empty; enter the name of a model the server has (model in the config)."),
        ({"api_key": ["sk"]}, "API key should be a valid string (api_key in the config)."),
    ],
)
def test_a_broken_endpoint_is_never_replaced_by_a_default(values: dict, message: str) -> None:
    """A default URL would send the learner's text to a server they did not choose."""
    checked = check_config(CONFIG_JSON | values | {"temperature": "warm"})

    assert checked.error is not None and str(checked.error).startswith(message)
    assert checked.values == CONFIG_JSON | values | {"temperature": 0.2}  # the rest is still repaired
    assert checked.error.key == next(iter(values))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"temperature": -0.5}, "Temperature should be greater than or equal to 0 (temperature in the"),
        ({"temperature": 2.5}, "Temperature should be less than or equal to 2"),
        ({"request_timeout": 0}, "Request timeout should be greater than 0"),
        ({"max_requests_per_run": 0}, "Requests per run should be greater than or equal to 1"),
        ({"price_per_million_prompt": -1}, "Price per million prompt tokens should be greater than or equal"),
        ({"run_timeout": "ten minutes"}, "Time limit per run should be a valid number"),
    ],
)
def test_strict_checking_names_the_setting(values: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings_from(CONFIG_JSON | values)


def test_limits_are_the_settings_own_bounds() -> None:
    limits = config.limits()
    assert set(limits) == {k for k, v in CONFIG_JSON.items() if isinstance(v, int | float) or v is None}
    for key, limit in limits.items():
        settings_from({key: limit.maximum})
        with pytest.raises(SettingsError, match=config.LABELS[key]):
            settings_from({key: limit.maximum * 2 + 1})
        below = limit.minimum if limit.exclusive_minimum else limit.minimum - 1
        with pytest.raises(SettingsError, match=config.LABELS[key]):
            settings_from({key: below})


def test_tags_come_as_a_list_or_a_string() -> None:
    assert config.parse_tags(["reading", "ai biology"]) == ["reading", "ai", "biology"]
    assert config.parse_tags("  reading ai ") == ["reading", "ai"]
    assert config.parse_tags(None) == []


@pytest.mark.parametrize(
    ("values", "env", "first_run"),
    [
        ({}, {}, True),  # the defaults: OpenAI, and no key anywhere
        ({}, {"OPENAI_API_KEY": "sk-from-env"}, False),
        ({"api_key": "sk-typed"}, {}, False),
        ({"api_key_env": "MY_KEY"}, {"MY_KEY": "sk-mine"}, False),
        ({"base_url": "http://localhost:11434/v1"}, {}, False),
        ({"base_url": "http://192.168.1.5:1234/v1"}, {}, False),
        ({"base_url": "https://openrouter.ai/api/v1"}, {}, True),
    ],
)
def test_first_run_means_no_key_and_no_local_server(values, env, first_run, monkeypatch) -> None:
    for name in ("OPENAI_API_KEY", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert needs_first_setup(CONFIG_JSON | values) is first_run


def test_the_setup_message_puts_a_broken_endpoint_first_then_a_first_run_then_defaults(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    local = CONFIG_JSON | {"base_url": "http://localhost:11434/v1"}

    assert setup_message(CONFIG_JSON | {"base_url": "", "temperature": "x"}).startswith(
        "Please fix the settings: Base URL is empty"
    )
    assert setup_message(CONFIG_JSON | {"temperature": "x"}) == config.FIRST_RUN
    assert setup_message(local | {"temperature": "x"}) == (
        "config.json has values the add-on can't use: Temperature should be a valid number, unable to parse "
        "string as a number (temperature in the config); using the default, 0.2."
    )
    assert setup_message(local) is None

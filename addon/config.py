"""The one door to the add-on's settings: `config.json` (through Anki's add-on manager) in, validated
`PipelineSettings` out, or a `SettingsError` that names the setting in plain words.

pydantic stays behind this door, imported inside the functions: it is vendored, so it can only be imported
after `loader.load_pipeline()`, and start-up must not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aqt.main import AnkiQt
    from pydantic import ValidationError

    from .pipeline.settings import PipelineSettings

LABELS = {
    "base_url": "Base URL",
    "model": "Model",
    "api_key": "API key",
    "api_key_env": "API key variable",
    "temperature": "Temperature",
    "request_timeout": "Request timeout",
    "context_window": "Context window",
    "max_reply_tokens": "Longest reply",
    "structured_output": "Structured output",
    "max_attempts": "Attempts per request",
    "max_backoff": "Longest wait between attempts",
    "price_per_million_prompt": "Price per million prompt tokens",
    "price_per_million_completion": "Price per million completion tokens",
    "mode": "Route",
    "max_concurrency": "Concurrent requests",
    "target_language": "Card language",
    "max_requests_per_run": "Requests per run",
    "run_timeout": "Time limit per run",
    "orchestrator_max_steps": "Orchestrator steps",
    "math": "Math in cards",
}
"""Each `config.json` key as people read it (config.md describes them)."""


class SettingsError(ValueError):
    """Settings that cannot be used; str() is one line naming the setting and what is wrong with it."""


def read_config(mw: AnkiQt) -> dict[str, Any]:
    """The add-on's config: `config.json`'s defaults with the learner's values over them."""
    return mw.addonManager.getConfig(__name__) or {}


def load_settings(mw: AnkiQt) -> PipelineSettings:
    """The settings the next run uses; SettingsError if the config holds a value that cannot work."""
    return settings_from(read_config(mw))


def settings_from(config: Mapping[str, Any]) -> PipelineSettings:
    """`PipelineSettings` from the flat `config.json` mapping; unknown keys are ignored."""
    from pydantic import ValidationError

    from .pipeline.settings import LLMSettings, PipelineSettings

    llm = {key: config[key] for key in LLMSettings.model_fields.keys() & config.keys()}
    run = {key: config[key] for key in (PipelineSettings.model_fields.keys() - {"llm"}) & config.keys()}
    run["target_language"] = config.get("target_language") or None
    try:
        return PipelineSettings(llm=LLMSettings(**llm), **run)
    except ValidationError as error:
        raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """The first problem in words, e.g. "Temperature should be less than or equal to 2 (temperature in the
    config)."."""
    problem = error.errors(include_url=False, include_input=False)[0]
    key = str(problem["loc"][-1]) if problem["loc"] else ""
    message = problem["msg"].removeprefix("Input ").removeprefix("Value error, ")
    if key not in LABELS:
        return f"The add-on's settings have a problem: {message}."
    return f"{LABELS[key]} {message} ({key} in the config)."

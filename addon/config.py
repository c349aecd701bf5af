"""The one door to the add-on's settings: `config.json` (through Anki's add-on manager) in, validated
`PipelineSettings` out, or a `SettingsError` that names the setting in plain words; and back out again.

pydantic stays behind this door, imported inside the functions: it is vendored, so it can only be imported
after the vendored libraries are activated (`loader`), and start-up must not pay for it. The settings window
gets everything it needs from here: labels, choices, limits, defaults, checking and writing.

A hand-edited config.json with a value the add-on cannot use (a word for a number, a negative count) runs
with that key's default and says so (`CheckedConfig.problems`). The endpoint keys are the exception: a
default there would send the learner's text to another server, so a broken one is a `SettingsError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from .pipeline.llm.presets import is_local_url

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
    "default_tags": "Default tags",
    "max_requests_per_run": "Requests per run",
    "run_timeout": "Time limit per run",
    "orchestrator_max_steps": "Orchestrator steps",
    "math": "Math in cards",
}
"""Each `config.json` key as people read it (config.md describes them); every key the add-on reads."""

CHOICES = {
    "structured_output": {
        "json_schema": "JSON schema",
        "function_calling": "Function calling",
        "json_text": "JSON in the text",
    },
    "mode": {
        "planned": "Planned: a fixed, parallel route",
        "orchestrator": "Orchestrator: an LLM picks each next agent (slower)",
    },
    "math": {
        "source": "Only where the text has math, as MathJax",
        "mathjax": "Always, as MathJax",
        "latex": "Also Anki's LaTeX tags (runs LaTeX on this computer)",
    },
}
"""The values of the keys that take one of a few words, with their names in the settings window."""

ENDPOINT_KEYS = ("base_url", "model", "api_key", "api_key_env")
"""Where the learner's text goes: never replaced by a default behind the learner's back."""

FIRST_RUN = "No API key and no local model server are set up yet, so there is nothing to generate with."


class SettingsError(ValueError):
    """Settings that cannot be used; str() is one line naming the setting and what is wrong with it, and
    `key` is that setting's config.json key."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Limit:
    """A number's bounds; an exclusive minimum is not allowed itself (a timeout must be more than 0)."""

    minimum: float
    maximum: float
    exclusive_minimum: bool = False


@dataclass(frozen=True)
class CheckedConfig:
    """A config as the add-on will use it: `values` has the default in place of every value it cannot use,
    and `problems` says which, one line each. A broken endpoint key is kept as it is, and is `error`."""

    values: dict[str, Any]
    problems: list[str]
    error: SettingsError | None = None


def read_config(mw: AnkiQt) -> dict[str, Any]:
    """The add-on's config: `config.json`'s defaults with the learner's values over them."""
    return mw.addonManager.getConfig(__name__) or {}


def load_settings(mw: AnkiQt) -> PipelineSettings:
    """The settings the next run uses (defaults for broken values); SettingsError for a broken endpoint."""
    checked = check_config(read_config(mw))
    if checked.error is not None:
        raise checked.error
    return settings_from(checked.values)


def default_tags(mw: AnkiQt) -> list[str]:
    """Tags every added note gets (none for a broken value, which `setup_message` reports)."""
    try:
        return parse_tags(read_config(mw).get("default_tags"))
    except ValueError:
        return []


def write_config(mw: AnkiQt, values: Mapping[str, Any]) -> PipelineSettings:
    """Store `values` over the current config, checked and normalised; nothing is written if any value
    cannot work (SettingsError names the first). Keys the add-on does not know are kept as they are."""
    config = read_config(mw) | dict(values)
    settings = settings_from(config)
    try:
        tags = parse_tags(config.get("default_tags"))
    except ValueError as error:
        message = f"{LABELS['default_tags']} {error} (default_tags in the config)."
        raise SettingsError(message, key="default_tags") from None
    mw.addonManager.writeConfig(__name__, config | flat(settings, tags))
    return settings


def settings_from(config: Mapping[str, Any]) -> PipelineSettings:
    """`PipelineSettings` from the flat `config.json` mapping; unknown keys are ignored. Strict: the first
    value that cannot work is a SettingsError."""
    from pydantic import ValidationError

    try:
        return _validate(config)
    except ValidationError as error:
        key, sentence = next(iter(_problems(error).items()))
        raise SettingsError(sentence, key=key) from None


def check_config(config: Mapping[str, Any]) -> CheckedConfig:
    """The config with a default for each value it cannot use (see the module's docstring)."""
    from pydantic import ValidationError

    values = dict(config)
    fallback = defaults()
    problems: list[str] = []
    error: SettingsError | None = None
    try:
        _validate(values)
    except ValidationError as invalid:
        for key, sentence in _problems(invalid).items():
            if key in ENDPOINT_KEYS or key not in fallback:
                error = error or SettingsError(sentence, key=key)
            else:
                values[key] = fallback[key]
                problems.append(f"{sentence.removesuffix('.')}; using the default, {_shown(fallback[key])}.")
    try:
        parse_tags(values.get("default_tags"))
    except ValueError as wrong:
        values["default_tags"] = []
        problems.append(f"{LABELS['default_tags']} {wrong} (default_tags in the config); using none.")
    return CheckedConfig(values, problems, error)


def setup_message(config: Mapping[str, Any]) -> str | None:
    """One line when the learner must open the settings before generating; None when all is set.

    Broken endpoint first, then a first run (no key and no local server), then values replaced by defaults.
    """
    checked = check_config(config)
    if checked.error is not None:
        return f"Please fix the settings: {checked.error}"
    if needs_first_setup(config):
        return FIRST_RUN
    if checked.problems:
        return "config.json has values the add-on can't use: " + " ".join(checked.problems)
    return None


def needs_first_setup(config: Mapping[str, Any]) -> bool:
    """No API key (in the config or its environment variable) and no server on this computer or network."""
    return not api_key_of(config) and not is_local_url(str(config.get("base_url") or ""))


def api_key_of(config: Mapping[str, Any]) -> str:
    """The key the add-on would send: the config's, else the environment variable's (`resolved_api_key`)."""
    return str(config.get("api_key") or "") or os.environ.get(str(config.get("api_key_env") or ""), "")


def defaults() -> dict[str, Any]:
    """Every key's default, as config.json holds it."""
    from .pipeline.settings import PipelineSettings

    return flat(PipelineSettings(), [])


def flat(settings: PipelineSettings, tags: list[str]) -> dict[str, Any]:
    """`settings` as config.json's flat keys, the key in the clear (config.json is where it lives)."""
    values = settings.llm.model_dump() | settings.model_dump(exclude={"llm"})
    values["api_key"] = settings.llm.api_key.get_secret_value()
    values["target_language"] = settings.target_language or ""
    values["default_tags"] = list(tags)
    return values


@cache
def limits() -> dict[str, Limit]:
    """The bounds of every numeric key, read from the settings' JSON schema (settings.py writes them)."""
    from .pipeline.settings import LLMSettings, PipelineSettings

    found: dict[str, Limit] = {}
    for model in (LLMSettings, PipelineSettings):
        for key, schema in model.model_json_schema()["properties"].items():
            number = next((s for s in schema.get("anyOf", [schema]) if "maximum" in s), None)
            if number is not None:
                exclusive = "exclusiveMinimum" in number
                minimum = number["exclusiveMinimum"] if exclusive else number["minimum"]
                found[key] = Limit(minimum, number["maximum"], exclusive)
    return found


def parse_tags(value: Any) -> list[str]:
    """Tags from a list of words or one space-separated string, as Anki writes them; ValueError otherwise."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return [word for tag in value for word in tag.split()]
    raise ValueError('should be a list of tags, e.g. ["reading", "ai"]')


def _validate(config: Mapping[str, Any]) -> PipelineSettings:
    from .pipeline.settings import LLMSettings, PipelineSettings

    llm = {key: config[key] for key in LLMSettings.model_fields.keys() & config.keys()}
    run = {key: config[key] for key in (PipelineSettings.model_fields.keys() - {"llm"}) & config.keys()}
    run["target_language"] = config.get("target_language") or None
    return PipelineSettings.model_validate({"llm": llm, **run})


def _problems(error: ValidationError) -> dict[str, str]:
    """One sentence per key with a problem, in the order pydantic found them."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        key = str(problem["loc"][-1]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Input ").removeprefix("Value error, ")
        if key not in LABELS:
            found.setdefault(key, f"The add-on's settings have a problem: {message}.")
        else:
            found.setdefault(key, f"{LABELS[key]} {message} ({key} in the config).")
    return found


def _shown(value: Any) -> str:
    return "none" if value is None else str(value) if not isinstance(value, str) else f'"{value}"'

"""The card pipeline: text in, reviewed and formatted cards out. Never imports aqt or anki.

    models, roles, settings, errors   the vocabulary; pydantic only
    cards/     cloze, Markdown rendering, sanitizing, lints, deterministic formatting; imports only models
    llm/       the OpenAI-compatible client: HTTP, wire format, retries, structured output, usage
    agents/    the roles' calls, their prompts, edits applied by card number
    workflow/  events, the run's record, chunking, stages, the planned and orchestrator routes, the runner

The public names below load on first use (module `__getattr__`): `from addon.pipeline import Source`
costs pydantic only, while `PipelineRun` brings llama-index (about a second), which is why
`loader.load_pipeline()` imports it in a background thread before the first run.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    ".errors": ("BudgetExceeded", "LLMError", "PipelineError", "StructuredOutputError"),
    ".models": ("Card", "Outline", "RunResult", "Source", "StepError", "Usage"),
    ".settings": ("LLMSettings", "PipelineSettings"),
    ".workflow.events": ("CardsChanged", "CardsReady", "ProgressEvent", "StepFinished", "StepStarted"),
    ".workflow.runner": ("PipelineRun", "apply_regeneration", "generate", "regenerate"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if (module := _MODULE_OF.get(name)) is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

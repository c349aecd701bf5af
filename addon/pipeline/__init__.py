"""The card pipeline: text in, reviewed and formatted cards out. Never imports aqt or anki.

Importing this package loads llama-index (about a second), which is why `loader.load_pipeline()` does it in a
background thread before the first run.
"""

from __future__ import annotations

from .errors import BudgetExceeded, LLMError, PipelineError, StructuredOutputError
from .events import CardsChanged, ProgressEvent, StepFinished, StepStarted
from .models import Card, Outline, RunResult, Source, StepError, Usage
from .runner import PipelineRun, apply_regeneration, generate, regenerate
from .settings import LLMSettings, PipelineSettings

__all__ = [
    "BudgetExceeded",
    "Card",
    "CardsChanged",
    "LLMError",
    "LLMSettings",
    "Outline",
    "PipelineError",
    "PipelineRun",
    "PipelineSettings",
    "ProgressEvent",
    "RunResult",
    "Source",
    "StepError",
    "StepFinished",
    "StepStarted",
    "StructuredOutputError",
    "Usage",
    "apply_regeneration",
    "generate",
    "regenerate",
]

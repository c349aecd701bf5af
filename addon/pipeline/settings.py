"""Settings the pipeline runs with; built from config.json by `addon/config.py`, or from the CLI's flags."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

StructuredOutput = Literal["json_schema", "function_calling", "json_text"]
Mode = Literal["planned", "orchestrator"]
MathSetting = Literal["source", "mathjax", "latex"]
"""Math cards keep: `source` only where the source has math markup, `mathjax` always as MathJax,
`latex` also as Anki's LaTeX tags (`cards/anki_markup.py`)."""


class LLMSettings(BaseModel):
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key: SecretStr = SecretStr("")
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.2
    request_timeout: float = Field(default=60.0, gt=0)
    context_window: int = Field(default=16_000, gt=512)
    max_reply_tokens: int = Field(
        default=8000, ge=256, le=1_000_000, description="Longest reply, in tokens; at most half the context."
    )
    structured_output: StructuredOutput = "json_schema"
    max_attempts: int = Field(default=4, ge=1, description="Requests per step, retries and re-asks included.")
    max_backoff: float = Field(default=30.0, gt=0, description="Longest wait between attempts, seconds.")
    price_per_million_prompt: float | None = None
    price_per_million_completion: float | None = None

    def resolved_api_key(self) -> str:
        """The key from settings, else from the environment variable named in `api_key_env`."""
        return self.api_key.get_secret_value() or os.environ.get(self.api_key_env, "")


class PipelineSettings(BaseModel):
    llm: LLMSettings = Field(default_factory=LLMSettings)
    mode: Mode = "planned"
    max_concurrency: int = Field(default=4, ge=1)
    target_language: str | None = None
    max_requests_per_run: int = Field(default=200, ge=1, description="Budget across all steps and retries.")
    run_timeout: float = Field(default=600.0, gt=0)
    orchestrator_max_steps: int = Field(default=12, ge=1)
    math: MathSetting = "source"

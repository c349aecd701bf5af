"""Settings the pipeline runs with; built from config.json by `addon/config.py`, or from the CLI's flags.

Every number has both bounds here, and only here: the settings window reads them for its spin boxes.
"""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

StructuredOutput = Literal["json_schema", "function_calling", "json_text"]
Mode = Literal["planned", "orchestrator"]
MathSetting = Literal["source", "mathjax", "latex"]
"""Math cards keep: `source` only where the source has math markup, `mathjax` always as MathJax,
`latex` also as Anki's LaTeX tags (`cards/anki_markup.py`)."""
URL_EXAMPLE = "e.g. http://localhost:11434/v1"


class LLMSettings(BaseModel):
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key: SecretStr = SecretStr("")
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=0.2, ge=0, le=2)
    request_timeout: float = Field(default=60.0, gt=0, le=3600, description="Seconds for one answer.")
    context_window: int = Field(default=16_000, ge=1024, le=10_000_000)
    max_reply_tokens: int = Field(
        default=8000, ge=256, le=1_000_000, description="Longest reply, in tokens; at most half the context."
    )
    structured_output: StructuredOutput = "json_schema"
    max_attempts: int = Field(
        default=4, ge=1, le=20, description="Requests per step, retries and re-asks included."
    )
    max_backoff: float = Field(default=30.0, gt=0, le=600, description="Longest wait between attempts, s.")
    price_per_million_prompt: float | None = Field(default=None, ge=0, le=10_000)
    price_per_million_completion: float | None = Field(default=None, ge=0, le=10_000)

    @property
    def reply_tokens(self) -> int:
        """The token limit sent with every request: `max_reply_tokens`, and at most half the context."""
        return min(self.max_reply_tokens, self.context_window // 2)

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(f"is empty; enter the server's address, {URL_EXAMPLE}")
        url = urlsplit(value)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"should start with http:// or https:// and name a host, {URL_EXAMPLE}")
        return value

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not (value := value.strip()):
            raise ValueError("is empty; enter the name of a model the server has")
        return value

    def resolved_api_key(self) -> str:
        """The key from settings, else from the environment variable named in `api_key_env`."""
        return self.api_key.get_secret_value() or os.environ.get(self.api_key_env, "")


class PipelineSettings(BaseModel):
    llm: LLMSettings = Field(default_factory=LLMSettings)
    mode: Mode = "planned"
    max_concurrency: int = Field(default=4, ge=1, le=64)
    target_language: str | None = None
    max_requests_per_run: int = Field(
        default=200, ge=1, le=100_000, description="Budget across all steps and retries."
    )
    run_timeout: float = Field(default=600.0, gt=0, le=86_400, description="Seconds for a whole run.")
    orchestrator_max_steps: int = Field(default=12, ge=1, le=200)
    math: MathSetting = "source"

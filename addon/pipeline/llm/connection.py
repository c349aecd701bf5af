"""Test connection: one tiny request to the chosen model, read as one line the learner can act on.

The request goes through `OpenAICompatibleLLM` like the pipeline's, with a single attempt: a test should
say what is wrong at once instead of retrying. It asks for a tiny JSON object in each structured-output mode
in turn (JSON schema, function calling, JSON in the text) and reports the first that works, so the add-on can
use it. A refusal of one mode (400/422) moves on to the next; any other failure ends the test with a verdict.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal, get_args

import httpx
from llama_index.core.llms import ChatMessage, MessageRole
from pydantic import BaseModel, Field

from ..errors import LLMError
from ..settings import LLMSettings, StructuredOutput
from .endpoint import key_refused, status_text
from .http import new_client
from .openai_llm import OpenAICompatibleLLM
from .servers import fetch_models
from .structured import InvalidReply, StructuredRequest

Outcome = Literal[
    "works",
    "no_json",
    "unreachable",
    "timeout",
    "key_rejected",
    "model_not_found",
    "rate_limited",
    "not_compatible",
    "server_error",
    "refused",
]
MODES: tuple[StructuredOutput, ...] = get_args(StructuredOutput)
"""Tried in this order: the first is the most reliable where the server honours it."""
MODE_WORDS: dict[StructuredOutput, str] = {
    "json_schema": "JSON schema",
    "function_calling": "function calling",
    "json_text": "JSON in the text",
}
STEP = "test connection"
MODELS_SHOWN = 8


class ConnectionCheck(BaseModel):
    """What the test asks the model for: the smallest object with a required field."""

    ok: bool = Field(description="true if you can read the message")


PING = (
    ChatMessage(role=MessageRole.SYSTEM, content="You check that a connection works."),
    ChatMessage(role=MessageRole.USER, content="Confirm that you can read this."),
)


@dataclass(frozen=True)
class Verdict:
    """What the test found: `message` is one line saying what happened and what to do."""

    outcome: Outcome
    message: str
    structured_output: StructuredOutput | None = None
    seconds: float | None = None
    models: tuple[str, ...] = ()

    @property
    def works(self) -> bool:
        return self.outcome == "works"


def check_connection(settings: LLMSettings) -> Verdict:
    """Run the test in an event loop of its own (call it from a background thread); never raises LLMError."""
    return asyncio.run(acheck_connection(settings))


async def acheck_connection(settings: LLMSettings) -> Verdict:
    llm = OpenAICompatibleLLM(settings.model_copy(update={"max_attempts": 1}))
    try:
        return await _Check(llm).run()
    finally:
        await llm.aclose()


class _Check:
    def __init__(self, llm: OpenAICompatibleLLM) -> None:
        self.llm = llm
        self.settings = llm.settings
        self.where = llm.endpoint
        self._models: list[str] | LLMError | None = None

    async def run(self) -> Verdict:
        refusal: LLMError | None = None
        answered = False
        for mode in MODES:
            request = StructuredRequest(ConnectionCheck, mode)
            started = time.monotonic()
            try:
                response = await self.llm.achat(request.messages(PING), step=STEP, **request.options())
            except LLMError as error:
                if error.status not in (400, 422):
                    return await self._failed(error)
                if missing := await self._missing_model():  # some servers answer 400 for an unknown model
                    return missing
                refusal = error
                continue
            seconds = time.monotonic() - started
            answered = True
            try:
                request.parse(response)
            except InvalidReply:
                continue
            return self._works(mode, seconds)
        if answered or refusal is None:
            return Verdict(
                "no_json",
                f"{self.settings.model} answers, but gave no valid JSON in any of the three ways the add-on "
                "asks for it; cards would fail. Try a larger model.",
                structured_output="json_text",
            )
        return Verdict("refused", f"{refusal} Check the model name and the base URL.")

    def _works(self, mode: StructuredOutput, seconds: float) -> Verdict:
        answered = f"Works: {self.settings.model} answered in {seconds:.1f} s"
        if mode == "json_schema":
            message = f"{answered} and honoured JSON-schema output."
        else:
            message = f"{answered}; it ignored JSON-schema output, so the add-on will use {MODE_WORDS[mode]}."
        return Verdict("works", message, structured_output=mode, seconds=seconds)

    async def _failed(self, error: LLMError) -> Verdict:
        status = error.status
        if status is None:
            return self._not_answered(error)
        if status in (401, 403):
            has_key = bool(self.settings.resolved_api_key())
            todo = "Check the key." if has_key else "Enter the key, or the variable that holds it."
            return Verdict("key_rejected", f"{key_refused(status, self.where, has_key=has_key)} {todo}")
        if status == 404:
            if missing := await self._missing_model():
                return missing
            if isinstance(self._models, LLMError) and self._models.status == 404:
                return self._not_compatible(f"answered {status_text(404)} for chat completions and models")
        if status == 429:
            return Verdict(
                "rate_limited",
                f"The model server at {self.where} is rate limiting ({status_text(429)}): wait a minute and "
                "try again, or check your plan's limits.",
            )
        if status < 400:
            return self._not_compatible("answered with something that is not a chat completion")
        if status >= 500:
            return Verdict(
                "server_error",
                f"The model server at {self.where} failed ({status_text(status)}): try again later; if it "
                "keeps failing, look at the server's log.",
            )
        return Verdict("refused", str(error))

    def _not_answered(self, error: LLMError) -> Verdict:
        cause = error.__cause__
        if isinstance(cause, httpx.TimeoutException) and not isinstance(cause, httpx.ConnectTimeout):
            return Verdict(
                "timeout",
                f"The model server at {self.where} did not answer within "
                f"{self.settings.request_timeout:g} s. A local model may still be loading: try again, or "
                "raise the request timeout.",
            )
        if isinstance(cause, httpx.TransportError):
            return Verdict(
                "unreachable",
                f"Could not reach the model server at {self.where} ({type(cause).__name__}). Check the base "
                "URL, and that the server is running.",
            )
        return Verdict("refused", str(error))

    def _not_compatible(self, what: str) -> Verdict:
        return Verdict(
            "not_compatible",
            f"The server at {self.where} {what}: it does not look like an OpenAI-compatible API. Check the "
            "base URL (it usually ends in /v1).",
        )

    async def _missing_model(self) -> Verdict | None:
        """A verdict naming the server's models when it lists some and not ours; None otherwise."""
        models = await self._listed_models()
        model = self.settings.model
        if isinstance(models, LLMError) or not models or model in models or f"{model}:latest" in models:
            return None
        shown = ", ".join(models[:MODELS_SHOWN]) + (
            f" and {len(models) - MODELS_SHOWN} more" if len(models) > MODELS_SHOWN else ""
        )
        return Verdict(
            "model_not_found",
            f"The model server at {self.where} has no model '{model}'. It lists: {shown}.",
            models=tuple(models),
        )

    async def _listed_models(self) -> list[str] | LLMError:
        if self._models is None:
            async with new_client(self.settings.request_timeout) as http:
                try:
                    self._models = await fetch_models(
                        http, self.settings.base_url, self.settings.resolved_api_key()
                    )
                except LLMError as error:
                    self._models = error
        return self._models

"""What the agents call: `LLMClient`, structured or text replies from one OpenAI-compatible endpoint.

Retries, the request budget and usage are handled per HTTP request by `OpenAICompatibleLLM`; this layer adds
structured output with one repair round and one fresh retry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from llama_index.core.llms import ChatMessage, ChatResponse
from pydantic import BaseModel

from ..errors import LLMError, StructuredOutputError
from ..settings import LLMSettings
from .openai_llm import OpenAICompatibleLLM
from .structured import InvalidReply, StructuredRequest
from .usage import UsageMeter

T = TypeVar("T", bound=BaseModel)

logger = logging.getLogger(__name__)


class LLMClient:
    """One endpoint for the steps of a run. Clients sharing `usage` count (and budget) as one run."""

    def __init__(
        self, settings: LLMSettings, *, usage: UsageMeter | None = None, max_requests: int | None = None
    ) -> None:
        self._settings = settings
        self._llm = OpenAICompatibleLLM(settings, usage=usage, max_requests=max_requests)

    @property
    def llm(self) -> OpenAICompatibleLLM:
        return self._llm

    @property
    def usage(self) -> UsageMeter:
        return self._llm.usage

    async def structured(self, output_cls: type[T], messages: Sequence[ChatMessage], *, step: str) -> T:
        """A validated `output_cls`: an invalid reply gets one repair round, then one fresh try."""
        request = StructuredRequest(output_cls, self._settings.structured_output)
        conversation = request.messages(messages)
        reply = await self._ask(request, conversation, step)
        for retry in ("repair", "fresh request"):
            try:
                return request.parse(reply)
            except InvalidReply as e:
                problem = str(e)
            logger.info(
                "Step '%s': the reply did not match %s (%s); trying a %s.", step, request.name, problem, retry
            )
            again = [*conversation, *request.repair(reply, problem)] if retry == "repair" else conversation
            reply = await self._ask(request, again, step)
        try:
            return request.parse(reply)
        except InvalidReply as e:
            raise StructuredOutputError(
                f"The model's replies for step '{step}' did not match the expected {request.name} format, "
                f"3 times; the last problem: {e}"
            ) from None

    async def text(self, messages: Sequence[ChatMessage], *, step: str) -> str:
        reply = await self._llm.achat(messages, step=step)
        if not (text := (reply.message.content or "").strip()):
            raise LLMError(f"The model gave an empty reply for step '{step}'.")
        return text

    async def aclose(self) -> None:
        await self._llm.aclose()

    async def _ask(
        self, request: StructuredRequest[T], messages: list[ChatMessage], step: str
    ) -> ChatResponse:
        response: ChatResponse = await self._llm.achat(messages, step=step, **request.options())
        return response

"""What the agents call: `LLMClient`, structured or text replies from one OpenAI-compatible endpoint.

Retries, the request budget and usage are handled per HTTP request by `OpenAICompatibleLLM`; this layer adds
structured output: a reply that does not validate is asked for again, by a repair request (showing the model
its reply and what is wrong) and a fresh one in turn, within the step's budget of `max_attempts` requests,
which transport retries draw on too (`retry.Attempts`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from llama_index.core.llms import ChatMessage, ChatResponse
from pydantic import BaseModel

from ..errors import LLMError, StructuredOutputError
from ..settings import LLMSettings
from ..wording import count_of
from .openai_llm import NotACompletion, OpenAICompatibleLLM, ReplyTooLarge
from .retry import Attempts
from .structured import InvalidReply, StructuredRequest
from .usage import UsageMeter

T = TypeVar("T", bound=BaseModel)

UNUSABLE_REPLIES = (InvalidReply, ReplyTooLarge, NotACompletion)
"""Replies asked for again while the step has requests left: one that does not validate, one too large to
read, an answer without a completion. Only the first kind is shown back to the model, for repair."""

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
        """A validated `output_cls`. An invalid reply is followed by a repair request, an invalid repair by
        a fresh request, and so on, while the step has requests left."""
        request = StructuredRequest(output_cls, self._settings.structured_output)
        conversation = request.messages(messages)
        attempts = Attempts(self._settings.max_attempts)
        asking = conversation
        while True:
            reply: ChatResponse | None = None
            try:
                reply = await self._ask(request, asking, step, attempts)
                return request.parse(reply)
            except UNUSABLE_REPLIES as e:
                if attempts.left <= 0:
                    raise _final(e, step, request.name, attempts.used) from None
                problem = str(e)
            if reply is not None and asking is conversation:
                how, asking = "a repair", [*conversation, *request.repair(reply, problem)]
            else:
                how, asking = "a fresh request", conversation
            logger.info("Step '%s': the reply did not match %s (%s); %s.", step, request.name, problem, how)

    async def text(self, messages: Sequence[ChatMessage], *, step: str) -> str:
        reply = await self._llm.achat(messages, step=step)
        if not (text := (reply.message.content or "").strip()):
            raise LLMError(f"The model gave an empty reply for step '{step}'.")
        return text

    async def aclose(self) -> None:
        await self._llm.aclose()

    async def _ask(
        self, request: StructuredRequest[T], messages: list[ChatMessage], step: str, attempts: Attempts
    ) -> ChatResponse:
        response: ChatResponse = await self._llm.achat(
            messages, step=step, attempts=attempts, **request.options()
        )
        return response


def _final(error: InvalidReply | LLMError, step: str, name: str, requests: int) -> LLMError:
    """The error that ends a step whose requests are spent: an unusable answer says itself what it was."""
    if isinstance(error, LLMError):
        return error
    return StructuredOutputError(
        f"The model's replies for step '{step}' did not match the expected {name} format "
        f"({count_of(requests, 'request')}); the last problem: {error.summary}"
    )

"""The OpenAI chat-completions wire format: llama-index messages out, validated completions back in.

Everything the server sends is untrusted, so a reply becomes a `Completion` (pydantic) before use.
"""

from __future__ import annotations

import json
from typing import Any

from llama_index.core.llms import ChatMessage, ChatResponse, MessageRole
from pydantic import BaseModel, Field, field_validator

REQUEST_OPTIONS = frozenset(
    {
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "seed",
        "stop",
    }
)
"""Keyword arguments of `achat` that go into the request body; others llama-index passes are dropped."""


def function_tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    """One message as the API wants it: text content, plus tool calls or the id of the call it answers."""
    wire: dict[str, Any] = {"role": message.role.value, "content": message.content or ""}
    if tool_calls := message.additional_kwargs.get("tool_calls"):
        wire["tool_calls"] = tool_calls
        wire["content"] = message.content or None  # the API wants null, not "", beside tool calls
    if tool_call_id := message.additional_kwargs.get("tool_call_id"):
        wire["tool_call_id"] = tool_call_id
    return wire


class WireFunction(BaseModel):
    name: str = ""
    arguments: str = ""

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_text(cls, value: Any) -> Any:
        """Some servers send the arguments as an object instead of a JSON string."""
        return json.dumps(value) if isinstance(value, dict) else value


class WireToolCall(BaseModel):
    id: str = ""
    type: str = "function"
    function: WireFunction


class WireMessage(BaseModel):
    content: str | None = None
    tool_calls: list[WireToolCall] | None = None


class WireChoice(BaseModel):
    message: WireMessage
    finish_reason: str | None = None


class WireUsage(BaseModel):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)


class Completion(BaseModel):
    choices: list[WireChoice] = Field(min_length=1)
    usage: WireUsage = Field(default_factory=WireUsage)

    @field_validator("usage", mode="before")
    @classmethod
    def _no_usage(cls, value: Any) -> Any:
        return {} if value is None else value


def to_chat_response(completion: Completion, raw: dict[str, Any]) -> ChatResponse:
    """The first choice as llama-index expects it; token counts in `additional_kwargs` as its OpenAI LLM."""
    choice = completion.choices[0]
    message_kwargs: dict[str, Any] = {}
    if choice.message.tool_calls:
        message_kwargs["tool_calls"] = [call.model_dump() for call in choice.message.tool_calls]
    content = choice.message.content or ""
    usage = completion.usage
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=content, additional_kwargs=message_kwargs),
        raw=raw,
        additional_kwargs={
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
            "finish_reason": choice.finish_reason,
        },
    )

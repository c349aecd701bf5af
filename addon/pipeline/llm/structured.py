"""A pydantic model out of a chat reply, in whichever structured-output mode the server supports.

- "json_schema": `response_format` carries the model's JSON schema; the reply's content is the JSON.
- "function_calling": one tool whose parameters are the schema, forced by `tool_choice`; its arguments
  are the JSON.
- "json_text": the schema goes into the system prompt, and the first JSON object of the reply text is taken.

Replies are LLM output: each one is validated, and what is wrong is described so that the model can repair it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from llama_index.core.llms import ChatMessage, ChatResponse, MessageRole
from pydantic import BaseModel, ValidationError

from ..settings import StructuredOutput
from .wire import function_tool

T = TypeVar("T", bound=BaseModel)

JSON_TEXT_INSTRUCTION = (
    "Reply with only one JSON object, without code fences or comments, "
    "that matches this JSON schema:\n{schema}"
)
REPAIR_INSTRUCTION = "Your reply did not match the schema: {problem}. Reply again with only valid JSON."
CUT_OFF = "the reply was cut off at the length limit; reply again, shorter"
ECHO_LIMIT = 8000
"""A bad reply is shown back to the model in a repair request only up to this many characters."""


class InvalidReply(ValueError):
    """A reply that gave no valid instance; str() says what is wrong, in words fit for the repair prompt,
    and `summary` says it in one short line for people."""

    def __init__(self, problem: str, summary: str | None = None) -> None:
        super().__init__(problem)
        self.summary = summary or problem


@dataclass(frozen=True)
class StructuredRequest(Generic[T]):
    """How to ask for an `output_cls` in one mode, and how to read and repair the reply."""

    output_cls: type[T]
    mode: StructuredOutput

    @property
    def name(self) -> str:
        """The schema's name, in the characters and length the OpenAI API allows for names."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.output_cls.__name__)[:64]

    def messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        """The conversation to send: in "json_text" mode the system prompt also gets the schema."""
        if self.mode != "json_text":
            return list(messages)
        instruction = JSON_TEXT_INSTRUCTION.format(schema=json.dumps(_json_schema(self.output_cls)))
        if messages and messages[0].role == MessageRole.SYSTEM:
            system = f"{messages[0].content}\n\n{instruction}"
            return [ChatMessage(role=MessageRole.SYSTEM, content=system), *messages[1:]]
        return [ChatMessage(role=MessageRole.SYSTEM, content=instruction), *messages]

    def options(self) -> dict[str, Any]:
        """The request body's extra fields for this mode."""
        schema = _json_schema(self.output_cls)
        if self.mode == "json_schema":
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": self.name, "schema": schema, "strict": False},
                }
            }
        if self.mode == "function_calling":
            return {
                "tools": [function_tool(self.name, f"Give the answer as a {self.name}.", schema)],
                "tool_choice": {"type": "function", "function": {"name": self.name}},
            }
        return {}

    def parse(self, response: ChatResponse) -> T:
        """The validated instance, or InvalidReply (saying so when the server cut the reply off)."""
        try:
            data = extract_json_object(self._json_text(response))
            return self.output_cls.model_validate(data)
        except (InvalidReply, ValidationError) as e:
            if isinstance(e, ValidationError):
                problem, summary = describe_validation_error(e), describe_validation_error(e, limit=1)
            else:
                problem = summary = str(e)
            if response.additional_kwargs.get("finish_reason") == "length":
                problem, summary = f"{CUT_OFF} ({problem})", CUT_OFF
            raise InvalidReply(problem, summary) from None

    def repair(self, response: ChatResponse, problem: str) -> list[ChatMessage]:
        """The messages that show the model its bad reply and what is wrong with it.

        A tool call must be answered by a tool message with its id, so the problem goes there.
        """
        prompt = REPAIR_INSTRUCTION.format(problem=problem)
        message = _shortened(response.message)
        tool_calls = message.additional_kwargs.get("tool_calls") or []
        if not tool_calls:
            return [message, ChatMessage(role=MessageRole.USER, content=prompt)]
        answers = [
            ChatMessage(role=MessageRole.TOOL, content=prompt, additional_kwargs={"tool_call_id": call["id"]})
            for call in tool_calls
        ]
        return [message, *answers]

    def _json_text(self, response: ChatResponse) -> str:
        if self.mode == "function_calling":
            for call in response.message.additional_kwargs.get("tool_calls") or []:
                if call["function"]["name"] == self.name:
                    return str(call["function"]["arguments"])
        return response.message.content or ""


def _shortened(message: ChatMessage) -> ChatMessage:
    """The reply as shown back to the model: its text and tool-call arguments cut at ECHO_LIMIT."""
    calls = [
        {**call, "function": {**call["function"], "arguments": _cut(str(call["function"]["arguments"]))}}
        for call in message.additional_kwargs.get("tool_calls") or []
    ]
    kwargs = {**message.additional_kwargs, "tool_calls": calls} if calls else message.additional_kwargs
    return ChatMessage(role=message.role, content=_cut(message.content or ""), additional_kwargs=kwargs)


def _cut(text: str) -> str:
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + " [… cut]"


@cache
def _json_schema(output_cls: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, built once per class (pydantic takes ~10 ms each time)."""
    return output_cls.model_json_schema()


def extract_json_object(text: str) -> Any:
    """The first JSON object in `text`, bare or after prose or a code fence's opening line.

    Decoding is tried at each brace rather than inside a fence: a JSON string may hold fenced code itself,
    and prose before the object may hold braces.
    """
    problem = "the reply contains no JSON object"
    for brace in re.finditer(r"\{", text):
        try:
            value, _ = json.JSONDecoder().raw_decode(text, brace.start())
        except json.JSONDecodeError as e:
            if problem.startswith("the reply"):
                problem = f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
            continue
        if isinstance(value, dict):
            return value
    raise InvalidReply(problem)


def describe_validation_error(error: ValidationError, limit: int = 8) -> str:
    """One line per problem, without the (untrusted, possibly long) input pydantic would quote."""
    problems = error.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(map(str, p['loc'])) or 'the object'}: {p['msg']}" for p in problems[:limit]]
    if len(problems) > limit:
        parts.append(f"and {len(problems) - limit} more")
    return "; ".join(parts)

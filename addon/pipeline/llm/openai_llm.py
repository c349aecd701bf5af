"""`OpenAICompatibleLLM`: a llama-index LLM for any OpenAI-compatible chat-completions endpoint.

Not llama-index's `OpenAILike`: that imports tiktoken at module level (no Windows ARM64 wheel) and the openai
SDK, which brings the compiled jiter and a retry layer of its own. This one speaks HTTP with httpx, and every
request goes through the add-on's retry policy, the run's request budget and its usage meter, so that
llama-index agents using this object directly behave like `LLMClient`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httpx
from llama_index.core.async_utils import asyncio_run
from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.llms import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from pydantic import PrivateAttr, SecretStr
from tenacity import Future as Attempt
from tenacity import RetryCallState, RetryError

from ..errors import BudgetExceeded, LLMError
from ..settings import LLMSettings
from .endpoint import auth_headers, endpoint, key_refused, server_detail, status_text
from .http import new_client
from .retry import Attempts, retry_policy
from .usage import UsageMeter
from .wire import REQUEST_OPTIONS, Completion, WireToolCall, function_tool, to_chat_response, to_wire_message

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

logger = logging.getLogger(__name__)

DEFAULT_STEP = "chat"
"""The step named in messages when a caller (a llama-index agent, say) does not pass `step=`."""
MAX_REPLY_BYTES = 2 * 1024 * 1024
"""The largest reply read: `max_reply_tokens` of text is a few hundred kilobytes at most."""
_TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")
"""How servers name the reply's token limit: OpenAI's newer models accept only the second."""


class ReplyTooLarge(LLMError):
    """The server sent more than MAX_REPLY_BYTES; the rest was not read."""


class NotACompletion(LLMError):
    """A successful answer that holds no chat completion: not JSON, no choices (as a content filter may
    answer), or another server altogether."""


class OpenAICompatibleLLM(FunctionCallingLLM):
    """A llama-index LLM for any OpenAI-compatible chat-completions endpoint, over httpx.

    Pass `step="name"` to any chat method to have errors and logs name the pipeline step, and
    `attempts=Attempts(n)` to draw its requests from a step's budget (else each call gets `max_attempts`).
    Every request asks for at most `settings.reply_tokens` tokens.
    """

    settings: LLMSettings

    _usage: UsageMeter = PrivateAttr()
    _max_requests: int | None = PrivateAttr()
    _api_key: SecretStr = PrivateAttr()
    _http: httpx.AsyncClient | None = PrivateAttr(default=None)
    _http_loop: asyncio.AbstractEventLoop | None = PrivateAttr(default=None)
    _token_limit: str = PrivateAttr(default=_TOKEN_LIMITS[0])

    def __init__(
        self,
        settings: LLMSettings,
        *,
        usage: UsageMeter | None = None,
        max_requests: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings=settings, **kwargs)
        self._usage = usage or UsageMeter()
        self._max_requests = max_requests
        self._api_key = SecretStr(settings.resolved_api_key())

    @classmethod
    def class_name(cls) -> str:
        return "OpenAICompatibleLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.settings.context_window,
            is_chat_model=True,
            # "json_text" is the mode for servers that know neither response formats nor tools.
            is_function_calling_model=self.settings.structured_output != "json_text",
            model_name=self.settings.model,
        )

    @property
    def usage(self) -> UsageMeter:
        return self._usage

    @property
    def endpoint(self) -> str:
        """Host and port of the server, for messages: never the whole URL, which may carry credentials."""
        return endpoint(self.settings.base_url)

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop (one of a finished loop is just dropped)."""
        http, loop = self._http, self._http_loop
        self._http = self._http_loop = None
        if http is not None and loop is asyncio.get_running_loop():
            await http.aclose()

    # --- llama-index's LLM interface -------------------------------------------------------------------

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(self._shared_http(), messages, **kwargs)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat_blocking(messages, kwargs)

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """The whole reply as one chunk: the pipeline has no use for token streaming."""
        response = await self._achat(self._shared_http(), messages, **kwargs)

        async def chunks() -> ChatResponseAsyncGen:
            yield _as_chunk(response)

        return chunks()

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """The whole reply as one chunk: the pipeline has no use for token streaming."""
        yield _as_chunk(self._chat_blocking(messages, kwargs))

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        if tools:  # `tool_choice` without tools is rejected by strict servers
            kwargs["tools"] = [
                function_tool(t.metadata.get_name(), t.metadata.description, t.metadata.get_parameters_dict())
                for t in tools
            ]
            kwargs["tool_choice"] = "required" if tool_required else "auto"
            kwargs["parallel_tool_calls"] = allow_parallel_tool_calls
        return {"messages": messages, **kwargs}

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        calls = [
            WireToolCall.model_validate(c) for c in response.message.additional_kwargs.get("tool_calls", [])
        ]
        if not calls and error_on_no_tool_call:
            raise ValueError("The model answered without calling a tool.")
        return [
            ToolSelection(
                tool_id=c.id, tool_name=c.function.name, tool_kwargs=_arguments(c.function.arguments)
            )
            for c in calls
        ]

    # --- HTTP ------------------------------------------------------------------------------------------

    def _shared_http(self) -> httpx.AsyncClient:
        """The connection pool of the running event loop: a pool cannot be used from another loop."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http, self._http_loop = self._new_http(), loop
        return self._http

    def _new_http(self) -> httpx.AsyncClient:
        return new_client(self.settings.request_timeout)

    def _chat_blocking(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        """The async path in an event loop of its own, with a connection pool of its own."""

        async def once() -> ChatResponse:
            async with self._new_http() as http:
                return await self._achat(http, messages, **kwargs)

        response: ChatResponse = asyncio_run(once())
        return response

    async def _achat(
        self,
        http: httpx.AsyncClient,
        messages: Sequence[ChatMessage],
        step: str = DEFAULT_STEP,
        attempts: Attempts | None = None,
        **options: Any,
    ) -> ChatResponse:
        attempts = attempts or Attempts(self.settings.max_attempts)
        while True:
            payload = {
                "model": self.settings.model,
                "temperature": self.settings.temperature,
                self._token_limit: self.settings.reply_tokens,
                **{key: value for key, value in options.items() if key in REQUEST_OPTIONS},
                "messages": [to_wire_message(m) for m in messages],
            }
            try:
                response = await self._post(http, payload, step, attempts)
                break
            except LLMError as error:
                if not (attempts.left and self._other_token_limit_wanted(error)):
                    raise
                self._token_limit = _TOKEN_LIMITS[1]
        try:
            raw = response.json()
            completion = Completion.model_validate(raw)
        except ValueError:  # also pydantic's ValidationError
            raise NotACompletion(
                f"The model server at {self.endpoint} answered step '{step}' with something that is "
                "not a chat completion; check the base URL.",
                status=response.status_code,
            ) from None
        usage = completion.usage
        self._usage.add(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=self._cost(usage.prompt_tokens, usage.completion_tokens),
        )
        return to_chat_response(completion, raw)

    def _other_token_limit_wanted(self, error: LLMError) -> bool:
        """A 400 asking for `max_completion_tokens` instead (OpenAI's reasoning models)."""
        return (
            self._token_limit == _TOKEN_LIMITS[0] and error.status == 400 and _TOKEN_LIMITS[1] in str(error)
        )

    async def _post(
        self, http: httpx.AsyncClient, payload: dict[str, Any], step: str, attempts: Attempts
    ) -> httpx.Response:
        retrying = retry_policy(
            attempts=attempts,
            max_backoff=self.settings.max_backoff,
            before_sleep=lambda state: self._log_retry(state, step, attempts),
        )
        try:
            response: httpx.Response = await retrying(self._send, http, payload, step, attempts)
        except RetryError as e:  # the transport error, if any, stays the cause (see LLMError)
            attempt = e.last_attempt
            raise self._gave_up(attempt, step) from (attempt.exception() if attempt.failed else None)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise LLMError(
                f"The base URL in the settings is not a valid http:// or https:// address (step '{step}')."
            ) from None
        except httpx.HTTPError as e:  # not worth retrying: TLS, a proxy
            raise LLMError(
                f"Could not talk to the model server at {self.endpoint} for step '{step}' "
                f"({type(e).__name__})."
            ) from e
        if response.is_error:
            raise self._rejected(response, step)
        return response

    async def _send(
        self, http: httpx.AsyncClient, payload: dict[str, Any], step: str, attempts: Attempts
    ) -> httpx.Response:
        """One attempt, counted against the step's and the run's budgets before it is made. The whole
        attempt, reading included, must end within `request_timeout`: a server that drips its reply a
        byte at a time never trips httpx's per-read timeout."""
        if not self._usage.start_request(self._max_requests):
            raise BudgetExceeded(
                f"The run's budget of {self._max_requests} model requests is spent; stopped at step '{step}'."
            )
        attempts.take()
        started = time.monotonic()
        request = http.build_request("POST", self._url, json=payload, headers=auth_headers(self._key))
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                response = await http.send(request, stream=True)
                try:
                    return await self._read(response, step)
                finally:
                    await response.aclose()
        except TimeoutError:  # as httpx says it, so that every timeout reads the same from here on
            raise httpx.ReadTimeout("The whole attempt took too long.", request=request) from None
        finally:
            self._usage.add(seconds=time.monotonic() - started)

    async def _read(self, response: httpx.Response, step: str) -> httpx.Response:
        """The response with its body read, or ReplyTooLarge past MAX_REPLY_BYTES."""
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_REPLY_BYTES:
                raise ReplyTooLarge(
                    f"The model server at {self.endpoint} sent a reply larger than "
                    f"{MAX_REPLY_BYTES // 2**20} MiB for step '{step}'; it was not read.",
                    status=response.status_code,
                )
        decoded = ("content-encoding", "content-length", "transfer-encoding")
        headers = [(name, value) for name, value in response.headers.items() if name.lower() not in decoded]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=response.request
        )

    @property
    def _url(self) -> str:
        return self.settings.base_url.rstrip("/") + "/chat/completions"

    @property
    def _key(self) -> str:
        return self._api_key.get_secret_value()

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        prompt_price = self.settings.price_per_million_prompt
        completion_price = self.settings.price_per_million_completion
        if prompt_price is None and completion_price is None:
            return None
        return (prompt_tokens * (prompt_price or 0.0) + completion_tokens * (completion_price or 0.0)) / 1e6

    # --- messages --------------------------------------------------------------------------------------

    def _log_retry(self, state: RetryCallState, step: str, attempts: Attempts) -> None:
        outcome = state.outcome
        assert outcome is not None  # tenacity calls before_sleep after an attempt
        failed = outcome.failed
        problem = type(outcome.exception()).__name__ if failed else status_text(outcome.result().status_code)
        logger.warning(
            "Step '%s': the model server at %s: %s; retrying in %.2g s (attempt %d of %d).",
            step,
            self.endpoint,
            problem,
            state.upcoming_sleep,
            attempts.used,
            attempts.limit,
        )

    def _gave_up(self, attempt: Attempt, step: str) -> LLMError:
        times = _times(attempt.attempt_number)
        if not attempt.failed:
            status = attempt.result().status_code
            return LLMError(
                f"The model server at {self.endpoint} answered {status_text(status)} {times}; "
                f"giving up on step '{step}'.",
                status=status,
            )
        error = attempt.exception()
        if isinstance(error, httpx.TimeoutException):
            return LLMError(
                f"The model server at {self.endpoint} did not answer within "
                f"{self.settings.request_timeout:g} s, {times}; giving up on step '{step}'."
            )
        return LLMError(
            f"Could not reach the model server at {self.endpoint} ({type(error).__name__}), {times}; "
            f"giving up on step '{step}'."
        )

    def _rejected(self, response: httpx.Response, step: str) -> LLMError:
        status = response.status_code
        if status == HTTPStatus.UNAUTHORIZED:
            return LLMError(key_refused(status, self.endpoint, has_key=bool(self._key)), status=status)
        detail = server_detail(response, self._key)
        return LLMError(
            f"The model server at {self.endpoint} refused step '{step}' with {status_text(status)}"
            + (f": {detail}" if detail else "."),
            status=status,
        )


def _as_chunk(response: ChatResponse) -> ChatResponse:
    response.delta = response.message.content
    return response


def _arguments(text: str) -> dict[str, Any]:
    """Tool arguments are LLM output: anything but a JSON object counts as no arguments."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"

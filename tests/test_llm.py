"""LLM access against a real HTTP server (tests/fake_openai.py): request shapes, repair, retries, budget,
usage, cancellation and key hygiene."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TypeVar

import httpx
import pytest
from llama_index.core.llms import ChatMessage
from pydantic import BaseModel, ValidationError

from addon.pipeline.errors import BudgetExceeded, LLMError, StructuredOutputError
from addon.pipeline.llm.client import LLMClient
from addon.pipeline.llm.retry import retry_after_seconds
from addon.pipeline.llm.structured import InvalidReply, extract_json_object
from addon.pipeline.llm.usage import UsageMeter
from addon.pipeline.settings import LLMSettings

from .fake_openai import FakeOpenAI, Reply, Request

pytestmark = pytest.mark.timeout(20)

R = TypeVar("R")

KEY = "sk-test-DO-NOT-SHOW-7f3a9"


class Pair(BaseModel):
    front: str
    back: str


GOOD = {"front": "Q", "back": "A"}
MESSAGES = [
    ChatMessage(role="system", content="You are the Reviewer."),
    ChatMessage(role="user", content="Review this card."),
]


def run(client: LLMClient, call: Callable[[LLMClient], Awaitable[R]]) -> R:
    """Run one call in a fresh event loop, as the pipeline's runner does, and close the client after."""

    async def main() -> R:
        try:
            return await call(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def ask(client: LLMClient, step: str = "review") -> Pair:
    return run(client, lambda c: c.structured(Pair, MESSAGES, step=step))


def cancel_after(client: LLMClient, seconds: float) -> float:
    """Start a structured call, cancel it after `seconds`; how long the cancellation took to finish."""

    async def call(c: LLMClient) -> float:
        task = asyncio.create_task(c.structured(Pair, MESSAGES, step="review"))
        await asyncio.sleep(seconds)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    return run(client, call)


# --- request shapes per structured-output mode ------------------------------------------------------------


def test_json_schema_mode_sends_the_schema_as_response_format(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)

    (body,) = fake_openai.bodies()
    assert body["model"] == "fake-model"
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Pair", "schema": Pair.model_json_schema(), "strict": False},
    }
    assert "tools" not in body and "tool_choice" not in body
    assert body["messages"] == [
        {"role": "system", "content": "You are the Reviewer."},
        {"role": "user", "content": "Review this card."},
    ]


def test_function_calling_mode_forces_one_function_and_reads_its_arguments(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.tool_call("Pair", GOOD))

    assert ask(LLMClient(fake_openai.settings(structured_output="function_calling"))) == Pair(**GOOD)

    (body,) = fake_openai.bodies()
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "Pair",
                "description": "Give the answer as a Pair.",
                "parameters": Pair.model_json_schema(),
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Pair"}}
    assert "response_format" not in body


def test_json_text_mode_puts_the_schema_in_the_system_prompt(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.text(f"Sure! Here it is:\n```json\n{json.dumps(GOOD)}\n```\nAnything else?"))

    assert ask(LLMClient(fake_openai.settings(structured_output="json_text"))) == Pair(**GOOD)

    (body,) = fake_openai.bodies()
    assert "response_format" not in body and "tools" not in body
    system, user = body["messages"]
    assert system["content"].startswith("You are the Reviewer.\n\n")
    assert json.dumps(Pair.model_json_schema()) in system["content"]
    assert user == {"role": "user", "content": "Review this card."}


@pytest.mark.parametrize(
    "text",
    [
        '{"front": "Q", "back": "A"}',
        'Here you go: {"front": "Q", "back": "A"} Hope it helps {really}.',
        '```json\n{"front": "Q", "back": "A"}\n```',
        'Note {this}:\n```\n{"front": "Q", "back": "A"}\n```',
    ],
)
def test_the_first_json_object_is_found_in_prose_and_fences(text: str) -> None:
    assert extract_json_object(text) == GOOD


@pytest.mark.parametrize(
    ("text", "problem"),
    [("no json here", "no JSON object"), ('{"front": "Q", "back": ', "invalid JSON: Expecting value")],
)
def test_a_reply_without_a_json_object_says_why(text: str, problem: str) -> None:
    with pytest.raises(InvalidReply, match=problem):
        extract_json_object(text)


# --- repair and fresh retry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (Reply.text('{"front": "Q", "back": '), "invalid JSON"),
        (Reply.json({"front": "Q"}), "back: Field required"),
        (Reply.json({"front": "Q", "back": ["A"]}), "back: Input should be a valid string"),
    ],
)
def test_an_invalid_reply_is_shown_to_the_model_with_the_problem(
    fake_openai: FakeOpenAI, bad: Reply, problem: str
) -> None:
    fake_openai.script(bad, Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)

    first, repair = fake_openai.bodies()
    assert repair["messages"][:2] == first["messages"]
    assistant, instruction = repair["messages"][2:]
    assert assistant["role"] == "assistant" and assistant["content"].startswith('{"front": "Q"')
    assert instruction["role"] == "user"
    assert instruction["content"].startswith("Your reply did not match the schema: ")
    assert problem in instruction["content"]
    assert instruction["content"].endswith("Reply again with only valid JSON.")


def test_a_bad_function_call_is_answered_by_a_tool_message(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.tool_call("Pair", {"front": "Q"}), Reply.tool_call("Pair", GOOD))

    assert ask(LLMClient(fake_openai.settings(structured_output="function_calling"))) == Pair(**GOOD)

    _, repair = fake_openai.bodies()
    assistant, answer = repair["messages"][2:]
    (call,) = assistant["tool_calls"]
    assert call["function"] == {"name": "Pair", "arguments": '{"front": "Q"}'}
    assert answer["role"] == "tool" and answer["tool_call_id"] == call["id"]
    assert "back: Field required" in answer["content"]


def test_after_a_failed_repair_the_original_request_is_tried_once_more(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.json({"front": 1}), Reply.text("sorry"), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)

    first, _, fresh = fake_openai.bodies()
    assert fresh == first


def test_invalid_replies_are_asked_again_until_the_steps_requests_are_spent(fake_openai: FakeOpenAI) -> None:
    fake_openai.on("Pair", Reply.json({"front": "Q"}))
    client = LLMClient(fake_openai.settings(max_attempts=3))

    with pytest.raises(StructuredOutputError) as caught:
        ask(client, step="review")

    message = str(caught.value)
    assert "step 'review'" in message and "Pair" in message and "back: Field required" in message
    assert "(3 requests)" in message and "\n" not in message
    first, repair, fresh = fake_openai.bodies()
    assert len(repair["messages"]) == 4 and fresh == first
    assert client.usage.snapshot().requests == 3


def test_transport_retries_and_invalid_replies_share_one_budget(fake_openai: FakeOpenAI) -> None:
    """Up to 12 requests for one step before (4 attempts for each of 3 asks); now max_attempts in all."""
    fake_openai.on("Pair", Reply.error(503), Reply.json({"front": "Q"}))

    with pytest.raises(StructuredOutputError):
        ask(LLMClient(fake_openai.settings(max_attempts=4)))

    assert len(fake_openai.requests) == 4


def test_every_request_bounds_the_reply(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.json(GOOD), Reply.json(GOOD))
    ask(LLMClient(fake_openai.settings()))
    ask(LLMClient(fake_openai.settings(max_reply_tokens=4000, context_window=4096)))

    assert [body["max_tokens"] for body in fake_openai.bodies()] == [8000, 2048]


def test_servers_that_want_max_completion_tokens_get_it(fake_openai: FakeOpenAI) -> None:
    refusal = (
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens'."
    )
    fake_openai.script(Reply.error(400, refusal), Reply.json(GOOD), Reply.json(GOOD))
    client = LLMClient(fake_openai.settings())

    assert ask(client) == Pair(**GOOD)
    run(client, lambda c: c.structured(Pair, MESSAGES, step="again"))

    first, second, third = fake_openai.bodies()
    assert "max_tokens" in first and "max_tokens" not in second
    assert second["max_completion_tokens"] == third["max_completion_tokens"] == 8000


def test_a_reply_cut_at_the_token_limit_is_asked_again_shorter(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.text('{"front": "Q", "ba', finish_reason="length"), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)

    repair = fake_openai.bodies()[1]["messages"][-1]["content"]
    assert "cut off at the length limit; reply again, shorter" in repair


def test_a_huge_reply_is_not_read_and_not_echoed(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.text("x" * 5_000_000), Reply.text("{" + "y" * 100_000), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)

    huge, repairless, echo = fake_openai.bodies()
    assert repairless == huge, "a reply that was not read cannot be repaired: asked afresh"
    assert len(json.dumps(echo)) < len(json.dumps(huge)) + 9000, "a long bad reply is echoed cut"


def test_a_slow_drip_is_cut_at_the_request_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.on("Pair", Reply.dripping(GOOD, seconds_per_byte=0.05))
    started = time.monotonic()

    with pytest.raises(LLMError, match=r"did not answer within 0\.5 s, 2 times"):
        ask(LLMClient(fake_openai.settings(request_timeout=0.5, max_attempts=2)))

    assert time.monotonic() - started < 2.5


# --- retries ----------------------------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(429, retry_after="0.3"), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings(max_backoff=5))) == Pair(**GOOD)

    first, second = fake_openai.requests
    assert 0.3 <= second.received_at - first.received_at < 1.0


def test_retry_after_is_capped_by_max_backoff(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(503, retry_after="30"), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings(max_backoff=0.1))) == Pair(**GOOD)

    first, second = fake_openai.requests
    assert second.received_at - first.received_at < 1.0


def test_retry_after_may_be_an_http_date_or_milliseconds() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    in_two_seconds = format_datetime(now.replace(second=2), usegmt=True)

    assert retry_after_seconds(httpx.Headers({"Retry-After": in_two_seconds}), now=now.timestamp()) == 2
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250", "Retry-After": "9"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None


def test_server_errors_are_retried_until_an_answer(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(500), Reply.error(502), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)
    assert len(fake_openai.requests) == 3


def test_reset_connections_and_cut_off_bodies_are_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.dropped(), Reply.truncated(GOOD), Reply.reset_midway(GOOD), Reply.json(GOOD))

    assert ask(LLMClient(fake_openai.settings(max_attempts=4))) == Pair(**GOOD)
    assert len(fake_openai.requests) == 4


def test_attempts_per_request_are_capped(fake_openai: FakeOpenAI) -> None:
    fake_openai.on("Pair", Reply.error(503))

    with pytest.raises(LLMError) as caught:
        ask(LLMClient(fake_openai.settings(max_attempts=3)))

    port = fake_openai.url.split(":")[2].split("/")[0]
    assert str(caught.value) == (
        f"The model server at 127.0.0.1:{port} answered 503 Service Unavailable 3 times; "
        "giving up on step 'review'."
    )
    assert caught.value.status == 503
    assert len(fake_openai.requests) == 3


def test_a_server_that_does_not_answer_in_time_is_given_up_on(fake_openai: FakeOpenAI) -> None:
    fake_openai.on("Pair", Reply.json(GOOD, delay=2))

    with pytest.raises(LLMError, match=r"did not answer within 0\.2 s, 2 times; giving up on step 'review'"):
        ask(LLMClient(fake_openai.settings(request_timeout=0.2, max_attempts=2)))


def test_an_unreachable_server_is_named_in_the_error() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    client = LLMClient(LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2, max_backoff=0.05))

    with pytest.raises(
        LLMError, match=rf"reach the model server at 127\.0\.0\.1:{port} \(ConnectError\), 2 times"
    ):
        ask(client)


def test_a_base_url_without_http_scheme_is_named_as_such() -> None:
    with pytest.raises(ValidationError, match="should start with http:// or https://"):
        LLMSettings(base_url="localhost:8080/v1")
    client = LLMClient(LLMSettings.model_construct(base_url="localhost:8080/v1"))  # settings not checked

    with pytest.raises(LLMError, match="base URL in the settings is not a valid http:// or https:// address"):
        ask(client)


def test_an_answer_without_a_completion_is_asked_again_then_named(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.malformed('{"choices": []}'), Reply.json(GOOD))
    assert ask(LLMClient(fake_openai.settings())) == Pair(**GOOD)

    fake_openai.on("Pair", Reply.malformed())
    with pytest.raises(LLMError, match="not a chat completion; check the base URL"):
        ask(LLMClient(fake_openai.settings(max_attempts=2)))
    assert len(fake_openai.requests) == 4


# --- keys -------------------------------------------------------------------------------------------------


def test_a_rejected_key_is_not_retried_and_never_shown(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_openai.script(Reply.error(503), Reply.error(401, f"Incorrect API key provided: {KEY}"))

    with pytest.raises(LLMError) as caught:
        ask(LLMClient(fake_openai.settings(api_key=KEY)))

    assert str(caught.value).startswith("The API key was rejected (401 Unauthorized)")
    assert caught.value.status == 401
    assert len(fake_openai.requests) == 2
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in fake_openai.requests)
    assert "503 Service Unavailable; retrying" in caplog.text
    assert KEY not in caplog.text and KEY not in repr(caught.value)


def test_a_key_echoed_in_an_error_message_is_blanked(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(400, f"Model 'x' not found for key {KEY}"))

    with pytest.raises(LLMError) as caught:
        ask(LLMClient(fake_openai.settings(api_key=KEY)))

    assert str(caught.value).endswith(
        "refused step 'review' with 400 Bad Request: Model 'x' not found for key [API key]"
    )


def test_the_key_is_sent_only_when_set(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("AICARDS_TEST_KEY", KEY)
    fake_openai.on("Pair", Reply.json(GOOD))

    ask(LLMClient(fake_openai.settings()))
    ask(LLMClient(fake_openai.settings(api_key_env="AICARDS_TEST_KEY")))

    without, with_env_key = fake_openai.requests
    assert "authorization" not in without.headers
    assert with_env_key.headers["authorization"] == f"Bearer {KEY}"


def test_a_missing_key_is_named_as_such(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_openai.script(Reply.error(401))

    with pytest.raises(LLMError, match=r"wants an API key \(401 Unauthorized\); none is set"):
        ask(LLMClient(fake_openai.settings()))


# --- budget and usage -------------------------------------------------------------------------------------


def test_the_run_budget_spans_clients_and_retries(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(503))
    fake_openai.handler = lambda request: Reply.json(GOOD)
    meter = UsageMeter()
    analyzer = LLMClient(fake_openai.settings(), usage=meter, max_requests=3)
    reviewer = LLMClient(fake_openai.settings(), usage=meter, max_requests=3)

    assert ask(analyzer) == Pair(**GOOD)  # 503, then the answer: two requests
    assert ask(reviewer) == Pair(**GOOD)
    with pytest.raises(BudgetExceeded, match="budget of 3 model requests is spent; stopped at step 'review'"):
        ask(analyzer)

    assert len(fake_openai.requests) == 3
    assert meter.snapshot().requests == 3


def test_usage_counts_requests_tokens_time_and_cost(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(503), Reply.json(GOOD, usage=(100, 20)), Reply.text("hi", usage=(50, 5)))
    client = LLMClient(fake_openai.settings(price_per_million_prompt=1.0, price_per_million_completion=4.0))

    assert ask(client) == Pair(**GOOD)
    response = run(client, lambda c: c.llm.achat(MESSAGES, step="free text"))

    assert response.additional_kwargs["prompt_tokens"] == 50
    assert response.additional_kwargs["completion_tokens"] == 5
    usage = client.usage.snapshot()
    assert (usage.requests, usage.prompt_tokens, usage.completion_tokens) == (3, 150, 25)
    assert usage.cost_usd == pytest.approx((150 * 1.0 + 25 * 4.0) / 1e6)
    assert 0 < usage.seconds < 5


def test_without_prices_there_is_no_cost(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.json(GOOD))
    client = LLMClient(fake_openai.settings())

    ask(client)

    assert client.usage.snapshot().cost_usd is None


# --- cancellation -----------------------------------------------------------------------------------------


def test_cancelling_a_slow_request_returns_at_once(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.json(GOOD, delay=5))

    assert cancel_after(LLMClient(fake_openai.settings()), 0.3) < 1.0


def test_cancelling_during_a_backoff_returns_at_once(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(429, retry_after="5"))

    assert cancel_after(LLMClient(fake_openai.settings(max_backoff=10)), 0.3) < 1.0
    assert len(fake_openai.requests) == 1


# --- text replies and the llama-index interface -----------------------------------------------------------


def test_text_returns_the_stripped_reply(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.text("  A short answer.\n"), Reply.text("   "))
    client = LLMClient(fake_openai.settings())

    assert run(client, lambda c: c.text(MESSAGES, step="explain")) == "A short answer."
    with pytest.raises(LLMError, match="empty reply for step 'explain'"):
        run(client, lambda c: c.text(MESSAGES, step="explain"))
    assert "response_format" not in fake_openai.bodies()[0]


def test_the_llm_answers_llama_index_sync_calls(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.text("pong"))
    llm = LLMClient(fake_openai.settings(context_window=8000)).llm

    assert llm.metadata.is_chat_model and llm.metadata.is_function_calling_model
    assert (llm.metadata.context_window, llm.metadata.model_name) == (8000, "fake-model")
    assert llm.complete("ping").text == "pong"
    assert fake_openai.bodies()[0]["messages"] == [{"role": "user", "content": "ping"}]


@pytest.mark.filterwarnings("ignore::pydantic.PydanticDeprecationWarning")  # the agent inspects itself
def test_a_llama_index_function_agent_runs_on_the_llm(fake_openai: FakeOpenAI) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    def answer(request: Request) -> Reply:
        if request.messages[-1]["role"] == "tool":
            return Reply.text(f"The sum is {request.messages[-1]['content']}.")
        return Reply.tool_call("add", {"a": 1, "b": 2})

    fake_openai.handler = answer
    client = LLMClient(fake_openai.settings())
    agent = FunctionAgent(tools=[add], llm=client.llm, system_prompt="You add.", timeout=10)

    assert str(run(client, lambda c: agent.run("1+2?"))) == "The sum is 3."

    first, second = fake_openai.bodies()
    assert first["tool_choice"] == "auto" and first["tools"][0]["function"]["name"] == "add"
    call, result = second["messages"][2:]
    assert call["content"] is None and call["tool_calls"][0]["function"]["name"] == "add"
    assert result == {"role": "tool", "content": "3", "tool_call_id": call["tool_calls"][0]["id"]}


def test_json_text_servers_are_not_function_calling_models(fake_openai: FakeOpenAI) -> None:
    llm = LLMClient(fake_openai.settings(structured_output="json_text")).llm

    assert not llm.metadata.is_function_calling_model

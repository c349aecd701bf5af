"""Test connection, the model list and the local-server probe, against real HTTP servers on 127.0.0.1:
each outcome with its message, the structured-output mode picked, and the key never in a message or a log."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from addon.pipeline.errors import LLMError
from addon.pipeline.llm.connection import Verdict, check_connection
from addon.pipeline.llm.presets import LOCAL_PRESETS, is_local_url, preset_for
from addon.pipeline.llm.servers import find_local_servers, list_models
from addon.pipeline.settings import LLMSettings

from .fake_openai import FakeOpenAI, Reply, Request

pytestmark = pytest.mark.timeout(30)

KEY = "sk-test-NEVER-SHOWN-51c2"
OK = {"ok": True}


def check(fake: FakeOpenAI, **overrides: object) -> Verdict:
    return check_connection(fake.settings(**overrides))


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web_page() -> Iterator[int]:
    """A port where an ordinary web server answers every path with HTML."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Router login</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


# --- works, and which structured-output mode ---------------------------------------------------------------


def test_a_server_that_honours_json_schema_works_in_one_request(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.json(OK)

    verdict = check(fake_openai)

    assert verdict.works and verdict.structured_output == "json_schema"
    assert verdict.message.startswith("Works: fake-model answered in ")
    assert verdict.message.endswith(" s and honoured JSON-schema output.")
    assert verdict.seconds is not None and verdict.seconds < 5
    assert len(fake_openai.requests) == 1
    assert fake_openai.requests[0].body["response_format"]["type"] == "json_schema"


def test_a_server_that_refuses_response_formats_gets_function_calling(fake_openai: FakeOpenAI) -> None:
    def no_response_format(request: Request) -> Reply:
        if "response_format" in request.body:
            return Reply.error(400, "response_format is not supported")
        return Reply.json(OK)

    fake_openai.handler = no_response_format

    verdict = check(fake_openai)

    assert (verdict.outcome, verdict.structured_output) == ("works", "function_calling")
    assert "ignored JSON-schema output, so the add-on will use function calling" in verdict.message
    assert fake_openai.requests[-1].forced_function == "ConnectionCheck"


def test_a_server_that_ignores_schema_and_tools_gets_json_in_the_text(fake_openai: FakeOpenAI) -> None:
    def plain_chat(request: Request) -> Reply:
        if "tools" in request.body:
            return Reply.error(400, "tools are not supported")
        if "JSON schema" in request.system:  # only the json_text mode puts the schema in the prompt
            return Reply.text('Sure: {"ok": true}')
        return Reply.text("Yes, I can read this.")  # a response_format the server silently ignores

    fake_openai.handler = plain_chat

    verdict = check(fake_openai)

    assert (verdict.outcome, verdict.structured_output) == ("works", "json_text")
    assert "will use JSON in the text" in verdict.message


def test_a_model_that_never_gives_json_is_named(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.text("I can read this!")

    verdict = check(fake_openai)

    assert verdict.outcome == "no_json" and not verdict.works
    assert "gave no valid JSON" in verdict.message and "larger model" in verdict.message


# --- what goes wrong, each with its message ----------------------------------------------------------------


def test_a_rejected_key_is_said_without_the_key(fake_openai: FakeOpenAI, caplog) -> None:
    fake_openai.api_key = "sk-the-right-one"
    caplog.set_level(logging.DEBUG)

    verdict = check(fake_openai, api_key=KEY)

    assert verdict.outcome == "key_rejected"
    assert verdict.message == (
        f"The API key was rejected (401 Unauthorized) by the model server at 127.0.0.1:{fake_openai.port}. "
        "Check the key."
    )
    assert KEY not in verdict.message and KEY not in caplog.text
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent, though


def test_a_missing_key_is_said_with_what_to_do(fake_openai: FakeOpenAI, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_openai.api_key = "sk-the-right-one"

    verdict = check(fake_openai)

    assert verdict.outcome == "key_rejected"
    assert "wants an API key (401 Unauthorized); none is set. Enter the key" in verdict.message


def test_an_unknown_model_gets_the_servers_model_list(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = [f"model-{n:02}" for n in range(10)]
    fake_openai.handler = lambda request: Reply.error(404, "model 'llama9' not found")

    verdict = check(fake_openai, model="llama9")

    assert verdict.outcome == "model_not_found"
    assert "has no model 'llama9'. It lists: model-00, model-01," in verdict.message
    assert verdict.message.endswith("model-07 and 2 more.")
    assert verdict.models == tuple(fake_openai.models)


def test_an_unknown_model_refused_with_400_is_found_too(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = ["gpt-4o", "gpt-4o-mini"]
    fake_openai.handler = lambda request: Reply.error(400, "Invalid model name passed in model=gpt-5")

    verdict = check(fake_openai, model="gpt-5")

    assert verdict.outcome == "model_not_found" and "It lists: gpt-4o, gpt-4o-mini." in verdict.message


def test_ollamas_latest_tag_counts_as_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = ["llama3.1:latest"]
    fake_openai.handler = lambda request: Reply.error(400, "bad request")

    verdict = check(fake_openai, model="llama3.1")

    assert verdict.outcome == "refused" and "400 Bad Request: bad request" in verdict.message


def test_a_rate_limit_is_said_at_once_without_retrying(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.error(429, retry_after="30")

    verdict = check(fake_openai, max_attempts=4)

    assert verdict.outcome == "rate_limited"
    assert "is rate limiting (429 Too Many Requests): wait a minute" in verdict.message
    assert len(fake_openai.requests) == 1


def test_a_server_slower_than_the_timeout_is_said_so(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.json(OK, delay=3)

    verdict = check(fake_openai, request_timeout=0.3)

    assert verdict.outcome == "timeout"
    assert "did not answer within 0.3 s. A local model may still be loading" in verdict.message


def test_nothing_listening_is_unreachable() -> None:
    port = free_port()

    verdict = check_connection(LLMSettings(base_url=f"http://127.0.0.1:{port}/v1"))

    assert verdict.outcome == "unreachable"
    assert verdict.message == (
        f"Could not reach the model server at 127.0.0.1:{port} (ConnectError). Check the base URL, and that "
        "the server is running."
    )


def test_a_web_page_is_not_an_openai_compatible_server(web_page: int) -> None:
    verdict = check_connection(LLMSettings(base_url=f"http://127.0.0.1:{web_page}/v1"))

    assert verdict.outcome == "not_compatible"
    assert "does not look like an OpenAI-compatible API. Check the base URL" in verdict.message


def test_404_for_chat_and_models_means_a_wrong_path(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.error(404)
    fake_openai.models_reply = Reply.error(404)

    verdict = check(fake_openai)

    assert verdict.outcome == "not_compatible"
    assert "answered 404 Not Found for chat completions and models" in verdict.message


def test_a_failing_server_is_said_so(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.error(503)

    verdict = check(fake_openai)

    assert verdict.outcome == "server_error" and len(fake_openai.requests) == 1
    assert "failed (503 Service Unavailable): try again later" in verdict.message


def test_another_refusal_gives_the_servers_words_without_the_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = lambda request: Reply.error(402, f"Insufficient credits for key {KEY}")

    verdict = check(fake_openai, api_key=KEY)

    assert verdict.outcome == "refused"
    assert "402 Payment Required: Insufficient credits for key [API key]" in verdict.message


# --- model list and local servers --------------------------------------------------------------------------


def test_the_model_list_is_sorted_and_needs_the_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = ["b-model", "A-model", "c-model"]
    fake_openai.api_key = KEY

    assert list_models(fake_openai.url, KEY) == ["A-model", "b-model", "c-model"]
    with pytest.raises(LLMError, match=r"wants an API key \(401 Unauthorized\); none is set") as refused:
        list_models(fake_openai.url)
    assert refused.value.status == 401


def test_a_list_that_is_not_a_model_list_is_said_so(fake_openai: FakeOpenAI) -> None:
    fake_openai.models_reply = Reply.malformed('{"models": "yes"}')

    with pytest.raises(LLMError, match="answered, but not with a list of models"):
        list_models(fake_openai.url)


def test_local_servers_are_found_by_their_model_list(fake_openai: FakeOpenAI, web_page: int) -> None:
    fake_openai.models = ["llama3.1:latest", "qwen2.5:7b"]
    ollama, lm_studio, litellm, llamacpp = (preset_named(name) for name in PORTS_TRIED)
    fake_port = fake_openai.port
    candidates = [
        dataclasses.replace(ollama, port=fake_port),  # an OpenAI-compatible server
        dataclasses.replace(lm_studio, port=web_page),  # something else on that port
        dataclasses.replace(litellm, port=free_port()),  # nothing
        dataclasses.replace(llamacpp, port=free_port()),
    ]

    found = find_local_servers(candidates)

    assert [(s.preset.name, s.base_url, s.models) for s in found] == [
        ("Ollama", fake_openai.url, ("llama3.1:latest", "qwen2.5:7b"))
    ]
    assert found[0].describe() == f"Ollama on port {fake_port} (2 models)"


PORTS_TRIED = {"Ollama": 11434, "LM Studio": 1234, "LiteLLM proxy": 4000, "llama.cpp server": 8080}


def preset_named(name: str):
    return next(preset for preset in LOCAL_PRESETS if preset.name == name)


def test_the_usual_local_ports_are_tried() -> None:
    assert {preset.name: preset.port for preset in LOCAL_PRESETS} == PORTS_TRIED


@pytest.mark.parametrize(
    ("url", "preset", "local"),
    [
        ("https://api.openai.com/v1", "OpenAI", False),
        ("https://openrouter.ai/api/v1/", "OpenRouter", False),
        ("http://localhost:11434/v1", "Ollama", True),
        ("http://127.0.0.1:1234/v1", "LM Studio", True),
        ("http://[::1]:4000/v1", "LiteLLM proxy", True),
        ("http://192.168.1.20:11434/v1", None, True),
        ("http://ollama:11434/v1", None, True),
        ("https://example.com/v1", None, False),
        ("localhost:11434", None, False),
    ],
)
def test_presets_are_recognised_from_the_base_url(url: str, preset: str | None, local: bool) -> None:
    found = preset_for(url)
    assert (found.name if found else None, is_local_url(url)) == (preset, local)

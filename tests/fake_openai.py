"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests, scripted reply by reply.

    def test_x(fake_openai):
        fake_openai.script(Reply.error(503), Reply.json({"cards": []}))   # answered in order
        fake_openai.on("Topic Analyzer", Reply.json(outline))              # by system prompt or schema name
        fake_openai.handler = lambda request: ...                          # anything else
        client = LLMClient(fake_openai.settings())

A request is answered by the first route that matches it, else by the next scripted reply, else by the
handler, else with 418 and "no reply scripted" (not retried, so a test fails fast and says why).
`Reply.json(data)` fits the request: tool-call arguments when a function is forced, else message content.

`GET /v1/models` lists `models` (the server's `model` by default), or answers `models_reply` when set.
With `api_key` set, any request without that bearer key gets 401, quoting the key it was sent as OpenAI does.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from addon.pipeline.settings import LLMSettings


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; header names in lower case."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    received_at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []

    @property
    def system(self) -> str:
        return "\n".join(m.get("content") or "" for m in self.messages if m.get("role") == "system")

    @property
    def forced_function(self) -> str | None:
        """The function `tool_choice` forces, if any."""
        choice = self.body.get("tool_choice") if isinstance(self.body, dict) else None
        return choice["function"]["name"] if isinstance(choice, dict) else None

    @property
    def schema_name(self) -> str | None:
        """The name of the JSON schema asked for, as a response format or as a forced function."""
        response_format = self.body.get("response_format") if isinstance(self.body, dict) else None
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            return response_format["json_schema"]["name"]
        return self.forced_function

    def matches(self, marker: str) -> bool:
        """True when `marker` is the schema's name or is in the system prompt."""
        return marker == self.schema_name or marker in self.system


@dataclass(frozen=True)
class Reply:
    """What the server answers; build one with the class methods, which all take `delay`, `usage` etc."""

    status: int = 200
    data: Any = None  # JSON to render to fit the request (see `json`)
    content: str | None = None  # the message content, or the error message of an error status
    tool_calls: tuple[tuple[str, str], ...] = ()  # (name, arguments as JSON text)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None  # sent as it is instead of a rendered body
    delay: float = 0.0  # seconds before replying (other requests are served meanwhile)
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens; default: estimated from lengths
    finish_reason: str | None = None
    drop: bool = False
    truncate: bool = False
    reset_mid_body: bool = False  # with `truncate`: end with a TCP reset rather than a clean close
    drip: float = 0.0  # seconds between the body's bytes, sent one at a time

    @classmethod
    def json(cls, data: Any, **kwargs: Any) -> Reply:
        """`data` as JSON: a call of the forced function if there is one, else the message content."""
        return cls(data=data, **kwargs)

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        return cls(content=content, **kwargs)

    @classmethod
    def tool_call(cls, name: str, arguments: str | dict[str, Any], **kwargs: Any) -> Reply:
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(tool_calls=((name, text),), **kwargs)

    @classmethod
    def error(cls, status: int, message: str = "", *, retry_after: str | None = None, **kwargs: Any) -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls(status=status, content=message or HTTPStatus(status).phrase, headers=headers, **kwargs)

    @classmethod
    def dropped(cls, **kwargs: Any) -> Reply:
        """The connection is reset without a reply."""
        return cls(drop=True, **kwargs)

    @classmethod
    def truncated(cls, data: Any = None, **kwargs: Any) -> Reply:
        """A reply whose body stops halfway, then the connection closes."""
        return cls(data=data if data is not None else {}, truncate=True, **kwargs)

    @classmethod
    def reset_midway(cls, data: Any = None, **kwargs: Any) -> Reply:
        """A reply whose body stops halfway, then the connection is reset."""
        return cls.truncated(data, reset_mid_body=True, **kwargs)

    @classmethod
    def dripping(cls, data: Any, seconds_per_byte: float, **kwargs: Any) -> Reply:
        """`data` sent a byte at a time, never pausing long enough for a read timeout."""
        return cls(data=data, drip=seconds_per_byte, **kwargs)

    @classmethod
    def malformed(cls, body: str = '{"choices": [{"message": ', **kwargs: Any) -> Reply:
        """A complete 200 response whose body is not a chat completion."""
        return cls(body=body.encode(), **kwargs)

    def render(self, request: Request, number: int) -> bytes:
        if self.body is not None:
            return self.body
        if self.status >= 400:
            return json.dumps({"error": {"message": self.content, "code": self.status}}).encode()
        content, tool_calls = self.content, self.tool_calls
        if self.data is not None:
            if request.forced_function:
                tool_calls = ((request.forced_function, json.dumps(self.data)),)
            else:
                content = json.dumps(self.data)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{number}_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(tool_calls)
            ]
        generated = (content or "") + "".join(a for _, a in tool_calls)
        prompt_tokens, completion_tokens = self.usage or (
            len(json.dumps(request.messages)) // 4 + 1,
            len(generated) // 4 + 1,
        )
        completion = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model", "") if isinstance(request.body, dict) else "",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": self.finish_reason or ("tool_calls" if tool_calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return json.dumps(completion).encode()


Responder = Reply | Callable[[Request], Reply]


class FakeOpenAI:
    """The server, on a free port unless given one. `url` is the base URL (`http://127.0.0.1:PORT/v1`),
    `requests` records every request, and `latency` is added before every reply (for benchmarks).
    """

    def __init__(self, *, latency: float = 0.0, model: str = "fake-model", port: int = 0) -> None:
        self.latency = latency
        self.model = model
        self.models = [model]
        self.models_reply: Reply | None = None
        self.api_key: str | None = None
        self.handler: Callable[[Request], Reply] | None = None
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._script: deque[Responder] = deque()
        self._routes: list[tuple[Callable[[Request], bool], deque[Responder]]] = []
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def settings(self, **overrides: Any) -> LLMSettings:
        """LLMSettings for this server, with quick retries: backoff capped at 0.05 s unless overridden."""
        values: dict[str, Any] = {"base_url": self.url, "model": self.model, "max_backoff": 0.05}
        return LLMSettings(**(values | overrides))

    def script(self, *replies: Responder) -> None:
        """Answer the next requests (those no route takes) with these replies, in order."""
        with self._lock:
            self._script.extend(replies)

    def on(self, match: str | Callable[[Request], bool], *replies: Responder) -> None:
        """Answer matching requests (see `Request.matches`) with these replies in order; the last repeats."""
        predicate = (lambda request: request.matches(match)) if isinstance(match, str) else match
        with self._lock:
            self._routes.append((predicate, deque(replies)))

    def bodies(self, path: str = "/v1/chat/completions") -> list[Any]:
        return [r.body for r in self.requests if r.path == path]

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, request: Request) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _answer(self, request: Request) -> tuple[Reply, int]:
        number = self._record(request)
        with self._lock:
            responder = self._next_responder(request)
        if responder is None:
            return Reply.error(418, "fake_openai: no reply scripted for this request"), number
        return (responder(request) if callable(responder) else responder), number

    def _next_responder(self, request: Request) -> Responder | None:
        for predicate, replies in self._routes:
            if predicate(request):
                return replies.popleft() if len(replies) > 1 else replies[0]
        if self._script:
            return self._script.popleft()
        return self.handler

    def _sleep(self, seconds: float) -> bool:
        """Wait without holding up other requests; True if the server is closing meanwhile."""
        return seconds > 0 and self._closing.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    timeout = 10  # idle keep-alive connections end on their own

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers, body)
        sent_key = headers.get("authorization", "").removeprefix("Bearer ")
        if fake.api_key is not None and sent_key != fake.api_key:
            fake._record(request)
            refusal = Reply.error(401, f"Incorrect API key provided: {sent_key or '(none)'}")
            self._send(401, {}, refusal.render(request, 0))
            return
        if (self.command, self.path) == ("GET", "/v1/models"):
            fake._record(request)
            if fake.models_reply is not None:
                reply = fake.models_reply
                self._send(reply.status, reply.headers, reply.render(request, 0))
                return
            models = {"object": "list", "data": [{"id": name, "object": "model"} for name in fake.models]}
            self._send(200, {}, json.dumps(models).encode())
            return
        if (self.command, self.path) != ("POST", "/v1/chat/completions"):
            fake._record(request)
            self._send(404, {}, b'{"error": {"message": "not found"}}')
            return
        reply, number = fake._answer(request)
        if fake._sleep(fake.latency + reply.delay) or reply.drop:
            self._reset()
            return
        payload = reply.render(request, number)
        try:
            self._reply(reply, payload, fake)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.close_connection = True

    def _reply(self, reply: Reply, payload: bytes, fake: FakeOpenAI) -> None:
        if reply.truncate:
            self._send(reply.status, reply.headers, payload, cut=len(payload) // 2)
            if reply.reset_mid_body:
                self._reset()
        elif reply.drip:
            self._send(reply.status, reply.headers, payload, drip=reply.drip, closing=fake._closing)
        else:
            self._send(reply.status, reply.headers, payload)

    def _send(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        cut: int | None = None,
        drip: float = 0.0,
        closing: threading.Event | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if drip:
            self.wfile.flush()
            self.close_connection = True
            for byte in body:
                if closing is not None and closing.wait(drip):
                    return
                self.wfile.write(bytes((byte,)))
                self.wfile.flush()
            return
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.close_connection = True

    def _reset(self) -> None:
        """Close with a TCP reset, so that the client sees a reset connection rather than a clean end."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh scriptable server per test, shut down afterwards."""
    with FakeOpenAI() as server:
        yield server

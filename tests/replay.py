"""Recorded replies of a real model, answered again by the fake server: regression fixtures.

A recording is a folder as `shared/tools/relay_llm.py` writes it while a real model (or a person playing
one) answers the pipeline: `req-NNN.json`, each request's body, and `resp-NNN.json`, its answer
(`{"content": "..."}` or `{"tool_calls": [{"name": ..., "arguments": {...}}]}`). Next to them: `input.md`,
the text the run was made from, and optionally `settings.json`, the PipelineSettings fields the run used
(`{"llm": {"context_window": 8000}, "max_concurrency": 2}`) and `expect.json` (see tests/test_replay.py).

    fake_openai.handler = Replay.load(folder)                 # in a test
    python -m tests.replay FOLDER [--port 8766]               # a server, e.g. for `python -m addon.cli eval`

Prompts change, and recordings must not go stale with every change. So a request is matched by its role (the
schema it asks for; for recordings made with JSON in text, which name no schema, the system prompt's first
line), then by what it is about: the recorded request of
that role whose messages (the system prompt left out) are most alike, by `cards.similarity` with weights taken
over that role's recordings, so that what every request of a role shares counts little and the topic or the
cards decide. A recording not used yet wins over a used one that is hardly better, so that requests which
look alike (the Orchestrator's) are answered in turn. A request of a role never recorded gets a 418 that
says so. An answer is sent as the request asks for it: a recorded tool call becomes message content and back.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addon.pipeline.cards.similarity import Corpus

from .fake_openai import FakeOpenAI, Reply, Request

PREFER_UNUSED = 0.9
"""An unused recording wins when it scores at least this share of the best one."""


@dataclass(frozen=True)
class Recorded:
    number: int
    schema: str | None
    opening: str
    """The system prompt's first line: "You are the Reviewer in a team that makes Anki flashcards."."""
    about: str
    answer: dict[str, Any]


@dataclass(frozen=True)
class Match:
    role: str
    number: int
    """The recorded exchange that answered."""
    score: float


@dataclass
class Replay:
    recorded: list[Recorded]
    matches: list[Match] = field(default_factory=list)
    _used: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, folder: Path) -> Replay:
        recorded = []
        for request_file in sorted(folder.glob("req-*.json")):
            answer_file = folder / request_file.name.replace("req-", "resp-")
            if answer_file.exists():
                body = json.loads(request_file.read_text(encoding="utf-8"))
                number = int(request_file.stem.removeprefix("req-"))
                answer = json.loads(answer_file.read_text(encoding="utf-8"))
                recorded.append(Recorded(number, schema_of(body), opening_of(body), about(body), answer))
        if not recorded:
            raise ValueError(f"{folder} holds no recorded request with its answer")
        return cls(recorded)

    def __call__(self, request: Request) -> Reply:
        schema, opening = schema_of(request.body), opening_of(request.body)
        role = schema or opening
        candidates = [r for r in self.recorded if schema and r.schema == schema] or [
            r for r in self.recorded if r.opening == opening
        ]
        if not candidates:
            return Reply.error(418, f"replay: nothing was recorded for {role!r}")
        corpus = Corpus([*(recorded.about for recorded in candidates), about(request.body)])
        asked = corpus.stems[-1]
        scored = [(corpus.similarity(corpus.stems[i], asked), c) for i, c in enumerate(candidates)]
        best = max(score for score, _ in scored)
        with self._lock:
            unused = [pair for pair in scored if pair[1].number not in self._used]
            fresh = max(unused, key=lambda pair: pair[0], default=None)
            score, chosen = (
                fresh if fresh and fresh[0] >= PREFER_UNUSED * best else max(scored, key=lambda pair: pair[0])
            )
            self._used.add(chosen.number)
            self.matches.append(Match(role, chosen.number, score))
        return reply_for(request, chosen.answer)


def schema_of(body: dict[str, Any]) -> str | None:
    """The schema a request asks for: its response format's or its forced function's name."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return str(response_format["json_schema"]["name"])
    choice = body.get("tool_choice")
    return str(choice["function"]["name"]) if isinstance(choice, dict) else None


def opening_of(body: dict[str, Any]) -> str:
    system = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "system"), "")
    return system.split("\n", 1)[0]


def about(body: dict[str, Any]) -> str:
    """What a request is about: its messages without the system prompt."""
    return "\n".join(m.get("content") or "" for m in body.get("messages", []) if m.get("role") != "system")


def reply_for(request: Request, answer: dict[str, Any]) -> Reply:
    calls = answer.get("tool_calls") or []
    if request.forced_function:
        arguments = calls[0]["arguments"] if calls else answer.get("content") or ""
        return Reply.tool_call(request.forced_function, arguments)
    if calls:
        return Reply.text(json.dumps(calls[0]["arguments"], ensure_ascii=False))
    return Reply.text(answer.get("content") or "")


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a recording as an OpenAI-compatible endpoint.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with FakeOpenAI(port=args.port) as server:
        server.handler = Replay.load(args.folder)
        print(f"replaying {args.folder} on {server.url}; Ctrl-C stops", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""Replaying recorded model replies (tests/replay.py): the mechanism, then every recording in
tests/recordings/ run through today's pipeline, prompts and lints.

A recording's optional `expect.json` pins what its cards must look like:
`{"cards": [min, max], "max_findings": {"question-contains-answer": 0, ...}}`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from addon.pipeline import PipelineSettings, RunResult, Source, generate
from addon.pipeline.agents import prompts
from addon.pipeline.cards.lints import needs_repair
from addon.pipeline.models import BasicCard

from .fake_openai import FakeOpenAI, Reply, Request
from .pipeline_crew import FIVE_TOPICS, Crew, run
from .replay import Replay

pytestmark = pytest.mark.timeout(120)

RECORDINGS = Path(__file__).parent / "recordings"


class Recorder:
    """Answers with `crew` and writes each exchange the way shared/tools/relay_llm.py does."""

    def __init__(self, folder: Path, crew: Crew) -> None:
        self.folder, self.crew, self.count = folder, crew, 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        reply = self.crew(request)
        with self._lock:
            self.count += 1
            number = self.count
        (self.folder / f"req-{number:03d}.json").write_text(json.dumps(request.body), encoding="utf-8")
        answer = {"content": json.dumps(reply.data)}
        (self.folder / f"resp-{number:03d}.json").write_text(json.dumps(answer), encoding="utf-8")
        return reply


def fronts(result: RunResult) -> list[str]:
    return sorted(c.draft.question if isinstance(c.draft, BasicCard) else c.draft.text for c in result.cards)


def test_a_recording_replays_after_the_prompts_change(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(tmp_path, Crew(cards_per_topic=3, review=lambda cards: {"edits": [], "changes": []}))
    recorded = run(fake_openai, recorder, max_concurrency=4)  # type: ignore[arg-type]
    for name in ("TOPIC_ANALYZER", "QA_GENERATOR", "CODE_EXPERT", "REVIEWER"):
        monkeypatch.setattr(
            prompts, name, getattr(prompts, name).replace("card", "flashcard") + "\nBe brief."
        )

    request = prompts.request

    def reworded(system: str, task: str, *, source: str | None = None) -> Any:
        task = task.replace("Write at most", "Please write no more than").replace("these cards", "the cards")
        return request(system, f"Read carefully.\n{task}\nThank you.", source=source)

    monkeypatch.setattr(prompts, "request", reworded)

    with FakeOpenAI() as server:
        replay = Replay.load(tmp_path)
        replayed = run(  # type: ignore[arg-type]
            server, replay, max_concurrency=2, llm={"structured_output": "function_calling"}
        )

    assert not replayed.errors and fronts(replayed) == fronts(recorded)
    assert sorted(match.number for match in replay.matches) == list(range(1, recorder.count + 1))
    assert all(request.forced_function for request in server.requests if request.method == "POST")
    assert min(match.score for match in replay.matches) > 0.8


def test_a_recording_that_names_no_schema_replays_by_system_prompt(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    recorder = Recorder(tmp_path, Crew(cards_per_topic=2))
    recorded = run(fake_openai, recorder)  # type: ignore[arg-type]
    for path in tmp_path.glob("req-*.json"):  # as with JSON in text: no response format
        body = json.loads(path.read_text())
        del body["response_format"]
        path.write_text(json.dumps(body))

    with FakeOpenAI() as server:
        replayed = run(server, Replay.load(tmp_path))  # type: ignore[arg-type]

    assert not replayed.errors and fronts(replayed) == fronts(recorded)


def test_a_request_of_a_role_never_recorded_is_refused_with_the_reason(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "req-001.json").write_text(json.dumps({"messages": [{"role": "system", "content": "Judge"}]}))
    (tmp_path / "resp-001.json").write_text(json.dumps({"content": "{}"}))
    fake_openai.handler = Replay.load(tmp_path)
    result = run(fake_openai, Replay.load(tmp_path), [Source(text=FIVE_TOPICS)])  # type: ignore[arg-type]

    assert "nothing was recorded for 'TopicAnalysis'" in result.errors[0].message


def recordings() -> list[Path]:
    return sorted(folder for folder in RECORDINGS.glob("*") if (folder / "input.md").exists())


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@pytest.mark.parametrize("folder", recordings(), ids=lambda folder: folder.name)
def test_a_recorded_run_replays_into_clean_cards(folder: Path, fake_openai: FakeOpenAI) -> None:
    options, expect = read_json(folder / "settings.json"), read_json(folder / "expect.json")
    replay = Replay.load(folder)
    fake_openai.handler = replay
    settings = PipelineSettings.model_validate(
        {**options, "llm": fake_openai.settings(**options.get("llm", {})).model_dump()}
    )
    text = (folder / "input.md").read_text(encoding="utf-8")
    result = asyncio.run(generate([Source(text=text)], settings))

    assert not result.errors, result.errors
    assert not any(needs_repair(card) for card in result.cards)
    low, high = expect.get("cards", [1, 1_000])
    assert low <= len(result.cards) <= high
    found = Counter(finding.lint_id for card in result.cards for finding in card.lints)
    for lint_id, most in expect.get("max_findings", {}).items():
        assert found[lint_id] <= most, (lint_id, [c.fields for c in result.cards if lint_id in str(c.lints)])
    assert min(match.score for match in replay.matches) > 0.5, "every request found its own recording"

"""The orchestrator route's guard rails: the step cap, the time cap, choices that cannot run, and failures of
the Orchestrator itself, all ending in a RunResult that says what happened."""

from __future__ import annotations

import time

import pytest

from addon.pipeline import Source

from .fake_openai import FakeOpenAI, Reply
from .pipeline_crew import Crew, run

pytestmark = pytest.mark.timeout(60)

NO_CODE = Source(
    text="## Squeeze\nBollinger Bands narrow before strong moves.\n\n## Golden Cross\nThe 50-day."
)


def test_the_step_cap_ends_the_loop_and_keeps_the_cards(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=3, decisions=["Topic Analyzer", "Q&A Generator"] + ["Reviewer"] * 20)
    result = run(fake_openai, crew, [NO_CODE], mode="orchestrator", orchestrator_max_steps=5)

    assert len(crew.requests("Decision")) == 5
    assert len(crew.requests("Review")) == 3, "three Reviewer steps over the one batch of both topics"
    assert [error.message for error in result.errors] == [
        "Stopped after 5 steps, the limit for the orchestrator."
    ]
    assert len(result.cards) == 6 and all(card.fields for card in result.cards)


def test_choices_that_cannot_run_are_recorded_and_skipped(fake_openai: FakeOpenAI) -> None:
    decisions = [
        "Reviewer",
        "Q&A Generator",
        "Topic Analyzer",
        "Topic Analyzer",
        "Q&A Generator",
        "Code and Extra Field Expert",
        "Formatter",
        "Formatter",
        "END",
    ]
    crew = Crew(cards_per_topic=2, decisions=decisions)
    result = run(fake_openai, crew, [NO_CODE], mode="orchestrator")

    assert [error.message for error in result.errors] == [
        "The Orchestrator chose the Reviewer, but there are no cards yet; skipped.",
        "The Orchestrator chose the Q&A Generator, but there are no topics yet; skipped.",
        "The Orchestrator chose the Topic Analyzer, but the topics are analyzed already; skipped.",
        "The Orchestrator chose the Code and Extra Field Expert, but no card needs it; skipped.",
        "The Orchestrator chose the Formatter, but the cards are formatted already; skipped.",
    ]
    assert {error.step for error in result.errors} == {"Orchestrator"}
    assert len(crew.requests("TopicAnalysis")) == 1 and not crew.requests("Review")
    # Never reviewed: formatted, and their provenance says so.
    assert len(result.cards) == 4 and all(card.fields for card in result.cards)
    assert all(card.provenance.agents == ["Q&A Generator", "Formatter"] for card in result.cards)


def test_ending_before_any_card_says_so(fake_openai: FakeOpenAI) -> None:
    result = run(fake_openai, Crew(decisions=["END"]), [NO_CODE], mode="orchestrator")

    assert result.cards == []
    assert [error.message for error in result.errors] == [
        "The Orchestrator ended the run before any cards were made."
    ]


def test_a_failing_orchestrator_ends_the_run_with_its_error(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2, decisions=["Topic Analyzer", "Q&A Generator"])
    fake_openai.on(lambda request: request.schema_name == "Decision" and len(crew.seen) > 3, Reply.error(400))
    result = run(fake_openai, crew, [NO_CODE], mode="orchestrator")

    assert [error.step for error in result.errors] == ["Orchestrator"]
    assert "400" in result.errors[0].message or "Bad Request" in result.errors[0].message
    assert len(result.cards) == 4, "the cards made before are formatted and kept"


def test_the_time_cap_stops_a_slow_run(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2, delay=lambda schema, request: 0.4 if schema == "CardDrafts" else 0.0)
    started = time.monotonic()
    result = run(fake_openai, crew, mode="orchestrator", run_timeout=1.0)

    assert time.monotonic() - started < 2.5
    assert len(crew.requests("CardDrafts")) < 5
    assert result.errors and "1 s" in result.errors[-1].message


def test_the_topic_analyzer_may_run_again_after_it_failed(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2, decisions=["Topic Analyzer", "Topic Analyzer", "Q&A Generator", "END"])
    fake_openai.on("TopicAnalysis", Reply.error(400, "try again"), crew)
    result = run(fake_openai, crew, [NO_CODE], mode="orchestrator")

    assert [error.step for error in result.errors] == ["Topic Analyzer"]
    assert len(result.cards) == 4


def test_the_orchestrator_is_offered_only_the_agents_that_can_run(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2)
    run(fake_openai, crew, mode="orchestrator")

    offered = [
        r.body["response_format"]["json_schema"]["schema"]["properties"]["next_agent"]["enum"]
        for r in crew.requests("Decision")
    ]
    assert offered[:3] == [
        ["Topic Analyzer"],
        ["Q&A Generator"],
        ["Code and Extra Field Expert", "Reviewer", "Formatter", "END"],
    ]
    assert offered[-1] == ["Reviewer", "END"], "all done: another review, or the end"

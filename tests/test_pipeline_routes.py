"""Both routes end to end over real HTTP (tests/fake_openai.py answered by tests/pipeline_crew.py): the cards,
the requests each route makes, chunking of long texts, several sources, errors and progress events."""

from __future__ import annotations

import pytest

from addon.pipeline import CardsChanged, CardsReady, ProgressEvent, Source, StepFinished, StepStarted

from .fake_openai import FakeOpenAI, Reply
from .pipeline_crew import Crew, cards_in, long_text, run, task

pytestmark = pytest.mark.timeout(60)

TOPICS = ["Relative Strength Index", "Moving Averages", "Bollinger Bands", "MACD", "Computing RSI in Python"]
BATCHES = [
    "Relative Strength Index; MACD",
    "Moving Averages; Bollinger Bands",
    "Computing RSI in Python",
]
"""The crew plans 7 cards a topic: the five topics go in three batches of at most 16 cards planned."""


def test_planned_route_makes_reviewed_formatted_cards_without_deciding(fake_openai: FakeOpenAI) -> None:
    crew = Crew()
    result = run(fake_openai, crew)

    assert result.mode == "planned" and not result.errors and not result.cancelled
    assert [topic.name for topic in result.outline.topics] == TOPICS
    assert result.outline.language == "English"
    assert len(result.cards) == 5 * 9
    assert {card.provenance.topic for card in result.cards} == set(TOPICS)
    assert all(card.fields for card in result.cards)
    # One analysis, one generation and one review per batch, the expert only for the code topic's batch.
    assert len(crew.requests("TopicAnalysis")) == 1
    assert len(crew.requests("CardDrafts")) == len(crew.requests("Review")) == len(BATCHES)
    assert not crew.requests("Decision")
    [expert] = [request for request in crew.requests("ExtraFields") if cards_in(request)]
    assert "Computing RSI in Python" in task(expert)
    assert all(card.provenance.agents[-2:] == ["Reviewer", "Formatter"] for card in result.cards)
    assert result.usage.requests == len(fake_openai.requests)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_the_code_expert_writes_the_extra_of_the_code_topics_cards(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=3)
    result = run(fake_openai, crew)

    assert len(crew.requests("ExtraFields")) == 1
    code_cards = [card for card in result.cards if "Code and Extra Field Expert" in card.provenance.agents]
    assert {card.provenance.topic for card in code_cards} == {"Computing RSI in Python"}
    assert len(code_cards) == 3 and all("```python" in card.draft.extra for card in code_cards)


def test_orchestrator_route_asks_before_every_step_and_runs_agents_one_at_a_time(
    fake_openai: FakeOpenAI,
) -> None:
    crew = Crew(delay=lambda schema, request: 0.02)
    result = run(fake_openai, crew, mode="orchestrator")

    assert result.mode == "orchestrator" and not result.errors
    assert len(result.cards) == 5 * 9 and all(card.fields for card in result.cards)
    schemas = [schema for schema, _ in crew.seen if schema != "ExtraFields"]
    assert schemas == [
        "Decision", "TopicAnalysis",
        "Decision", *["CardDrafts"] * 3,
        "Decision",
        "Decision", *["Review"] * 3,
        "Decision", "Decision",
    ]  # fmt: skip
    # The Decision summary is compact: counts and flags, no texts.
    last = crew.requests("Decision")[-1]
    assert len(task(last)) < 600 and "RSI" not in task(last)
    # One at a time: every request starts after the one before has been answered.
    starts = [request.received_at for request in fake_openai.requests]
    assert all(b - a >= 0.02 for a, b in zip(starts, starts[1:], strict=False))


def test_long_text_is_analysed_in_parallel_chunks_and_topics_merged(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2, delay=lambda schema, request: 0.3 if schema == "TopicAnalysis" else 0.0)
    result = run(fake_openai, crew, [Source(text=long_text(12))], llm={"context_window": 16_000})

    analyses = crew.requests("TopicAnalysis")
    assert len(analyses) == 3
    assert sorted(task(r) for r in analyses) == [
        f"Plan the topics of the source. This is part {n} of 3 of the source." for n in (1, 2, 3)
    ]
    starts = sorted(r.received_at for r in analyses)
    assert starts[-1] - starts[0] < 0.25, "the chunks are analysed at the same time"
    names = [topic.name for topic in result.outline.topics]
    assert names == [f"Indicator family {n}" for n in range(1, 13)], "no topic twice, in text order"
    assert len(result.cards) == 12 * 2
    assert {card.provenance.chunk for card in result.cards} == {0, 1, 2}


def test_cards_of_several_sources_keep_their_note(fake_openai: FakeOpenAI) -> None:
    sources = [
        Source(text="## Golden Cross\nThe 50-day average crosses above the 200-day.", note_id=11),
        Source(text="## Squeeze\nBollinger Bands narrow before strong moves.", note_id=22),
    ]
    result = run(fake_openai, Crew(cards_per_topic=3), sources)

    by_note = {card.provenance.source_note_id: card.provenance.topic for card in result.cards}
    assert by_note == {11: "Golden Cross", 22: "Squeeze"}
    assert len(result.cards) == 6


def test_a_failing_batch_is_an_error_and_the_other_batches_keep_their_cards(fake_openai: FakeOpenAI) -> None:
    result = run(fake_openai, Crew(fail_topics={"MACD"}))

    assert [error.step for error in result.errors] == ["Q&A Generator: Relative Strength Index; MACD"]
    assert "refused" in result.errors[0].message
    assert len(result.cards) == 3 * 9
    assert {card.provenance.topic for card in result.cards}.isdisjoint({"MACD", "Relative Strength Index"})


def test_a_run_left_without_cards_says_why(fake_openai: FakeOpenAI) -> None:
    fake_openai.on("TopicAnalysis", Reply.error(401, "invalid api key"))
    result = run(fake_openai, Crew())

    assert result.cards == []
    assert [error.step for error in result.errors] == ["Topic Analyzer"]
    assert "401" in result.errors[0].message or "key" in result.errors[0].message


def test_the_request_budget_ends_the_run_with_errors_not_an_exception(fake_openai: FakeOpenAI) -> None:
    result = run(fake_openai, Crew(), max_requests_per_run=3, max_concurrency=1)

    assert len(fake_openai.requests) == 3  # the analysis and two batches
    failed = sorted(error.step.split(":")[0] for error in result.errors)
    assert failed == ["Code and Extra Field Expert", "Q&A Generator", "Reviewer", "Reviewer"]
    assert all("budget" in error.message for error in result.errors)
    # The two batches written before the budget ran out are kept, formatted but marked as not reviewed.
    assert len(result.cards) == 3 * 9
    assert all(card.provenance.agents == ["Q&A Generator", "Formatter"] for card in result.cards)


def test_target_language_reaches_every_card_writing_agent(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2)
    run(fake_openai, crew, target_language="German")

    for schema in ("CardDrafts", "Review", "ExtraFields"):
        asked = [request for request in crew.requests(schema) if "Write" in task(request)]
        assert asked and all("Write every card in German." in task(r) for r in asked), schema


def test_cards_are_in_the_source_language_when_no_target_is_set(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2)
    run(fake_openai, crew)

    for schema in ("CardDrafts", "Review"):
        assert all("Write every card in English." in task(r) for r in crew.requests(schema)), schema


def test_progress_events_arrive_in_order(fake_openai: FakeOpenAI) -> None:
    events: list[ProgressEvent] = []
    result = run(fake_openai, Crew(), on_event=events.append)

    steps = [
        (type(e).__name__, e.role, e.topic) for e in events if not isinstance(e, CardsChanged | CardsReady)
    ]
    assert steps[:2] == [("StepStarted", "Topic Analyzer", ""), ("StepFinished", "Topic Analyzer", "")]
    for batch in BATCHES:
        order = [(kind, role) for kind, role, t in steps if t == batch]
        roles = [role for kind, role in order if kind == "StepStarted"]
        assert roles[0] == "Q&A Generator" and roles[-2:] == ["Reviewer", "Formatter"]
        assert all(
            order[i][0] == "StepStarted" and order[i + 1][0] == "StepFinished"
            for i in range(0, len(order), 2)
        )
    finished = [e for e in events if isinstance(e, StepFinished)]
    assert [e.cards_so_far for e in finished] == sorted(e.cards_so_far for e in finished)
    assert finished[-1].cards_so_far == len(result.cards)
    assert finished[-1].usage.requests == result.usage.requests
    assert all(isinstance(e, StepStarted | StepFinished | CardsChanged | CardsReady) for e in events)
    changed = [e for e in events if isinstance(e, CardsChanged)]
    assert len(changed) == 3 and all(e.changes == ["Card 1: shorter answer."] for e in changed)
    assert str(finished[-1]).startswith("Formatter: ")


def test_a_request_beyond_the_stated_context_window_is_one_warning_not_a_failure(
    fake_openai: FakeOpenAI,
) -> None:
    result = run(fake_openai, Crew(cards_per_topic=2), llm={"context_window": 1_024})

    [warning] = result.errors
    assert warning.step == "context window"
    assert "more than the 1,024 the settings give" in warning.message and "num_ctx" in warning.message
    assert len(result.cards) == 5 * 2, "the run goes on"
    assert not run(fake_openai, Crew(cards_per_topic=2), llm={"context_window": 16_000}).errors

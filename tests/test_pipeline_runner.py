"""`PipelineRun` as the dialogs and the CLI use it: a worker thread, cancellation from another thread that
keeps finished cards, the run's time limit, listeners, and regeneration of selected cards with feedback."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from addon.pipeline import (
    Card,
    CardsReady,
    PipelineRun,
    ProgressEvent,
    RunResult,
    Source,
    StepFinished,
    apply_regeneration,
)
from addon.pipeline.models import BasicCard, ClozeCard

from .fake_openai import FakeOpenAI, Reply, Request
from .pipeline_crew import (
    FIVE_TOPICS,
    Crew,
    cards_in,
    is_excerpt_of,
    long_text,
    made_up_word,
    run,
    settings_for,
    source_of,
    task,
)
from .test_pipeline_routes import BATCHES

pytestmark = pytest.mark.timeout(60)

SOURCE = Source(text=FIVE_TOPICS)


def first_fast_then_slow(slow: str, seconds: float) -> Any:
    """A delay function: the first request for `slow` is answered at once, later ones after `seconds`."""
    counter = itertools.count()

    def delay(name: str, request: Request) -> float:
        return seconds if name == slow and next(counter) > 0 else 0.0

    return delay


def test_cancel_from_another_thread_returns_soon_with_every_card_made(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = Crew(delay=first_fast_then_slow("Review", 30.0))
    one_topic_done = threading.Event()

    def on_event(event: ProgressEvent) -> None:
        if isinstance(event, StepFinished) and event.role == "Formatter":
            one_topic_done.set()

    run_ = PipelineRun([SOURCE], settings_for(fake_openai), on_event=on_event)
    run_.start()
    assert one_topic_done.wait(20)
    started = time.monotonic()
    threading.Thread(target=run_.cancel).start()
    result = run_.result(timeout=5)

    assert time.monotonic() - started < 3.0, "the other Reviews would take 30 s"
    assert result.cancelled
    assert_one_batch_reviewed(result.cards)


def test_cancel_before_the_run_starts_gives_an_empty_cancelled_result(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = Crew()
    run_ = PipelineRun([SOURCE], settings_for(fake_openai))
    run_.cancel()
    run_.start()
    result = run_.result(timeout=5)
    assert result.cancelled and result.cards == []


def test_the_run_timeout_keeps_every_card_made_and_says_so(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = Crew(delay=first_fast_then_slow("Review", 30.0))
    run_ = PipelineRun([SOURCE], settings_for(fake_openai, run_timeout=1.5))
    started = time.monotonic()
    run_.start()
    result = run_.result(timeout=10)

    assert time.monotonic() - started < 3.0
    assert not result.cancelled
    assert [error.step for error in result.errors] == ["run"]
    assert "1.5 s" in result.errors[0].message
    assert_one_batch_reviewed(result.cards)


def assert_one_batch_reviewed(cards: list[Card]) -> None:
    """Every card made is there, formatted (9 per topic); those reviewed are one batch's."""
    assert len(cards) == 45 and all(card.fields for card in cards)
    assert all("Formatter" in card.provenance.agents for card in cards)
    reviewed = [card for card in cards if "Reviewer" in card.provenance.agents]
    topics = sorted({card.provenance.topic for card in reviewed})
    assert topics in [sorted(batch.split("; ")) for batch in BATCHES]
    assert len(reviewed) == 9 * len(topics), "one batch was reviewed; the others' cards were formatted"


def test_listeners_run_on_the_worker_thread_and_cannot_break_the_run(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    threads: set[int] = set()

    def on_event(event: ProgressEvent) -> None:
        threads.add(threading.get_ident())
        raise RuntimeError("a broken listener")

    run_ = PipelineRun([SOURCE], settings_for(fake_openai), on_event=on_event)
    run_.start()
    result = run_.result(timeout=20)

    assert len(result.cards) == 10 and not result.errors
    assert threads and threading.get_ident() not in threads


def test_result_before_start_is_an_error(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(RuntimeError):
        PipelineRun([SOURCE], settings_for(fake_openai)).result()


# Regeneration


def regenerate(server: FakeOpenAI, crew: Crew, cards: list[Any], feedback: str, **options: Any) -> RunResult:
    crew.seen.clear()
    server.handler = crew
    run_ = PipelineRun.regeneration(cards, feedback, SOURCE, settings_for(server, **options))
    run_.start()
    return run_.result(timeout=20)


def test_regeneration_replaces_only_the_selected_cards(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=3)
    first = run(fake_openai, crew)
    chosen = [first.cards[1], first.cards[4]]

    result = regenerate(fake_openai, Crew(cards_per_topic=3), chosen, "make it a cloze")

    assert [card.id for card in result.cards] == [card.id for card in chosen]
    assert all(isinstance(card.draft, ClozeCard) for card in result.cards)
    assert all("make it a cloze" in card.draft.text for card in result.cards)
    assert [card.provenance.topic for card in result.cards] == [card.provenance.topic for card in chosen]
    merged = apply_regeneration(first.cards, result)
    assert [card.id for card in merged] == [card.id for card in first.cards]
    changed = [i for i, (old, new) in enumerate(zip(first.cards, merged, strict=True)) if old != new]
    assert changed == [1, 4]


def test_regeneration_asks_only_for_the_cards_and_reviews_only_them(fake_openai: FakeOpenAI) -> None:
    first = run(fake_openai, Crew(cards_per_topic=3))
    crew = Crew()
    regenerate(fake_openai, crew, first.cards[:2], "in German")

    assert [schema for schema, _ in crew.seen] == ["Revision", "Review"]
    revision = crew.requests("Revision")[0]
    assert is_excerpt_of(source_of(revision), FIVE_TOPICS), "the passages the cards are about"
    assert task(revision).startswith('The learner\'s feedback: "in German"\n')
    assert len(cards_in(revision)) == 2 and len(cards_in(crew.requests("Review")[0])) == 2
    assert "Keep each card in the language it is written in." in task(crew.requests("Review")[0])


def test_regenerated_cards_split_or_dropped_by_the_reviewer(fake_openai: FakeOpenAI) -> None:
    first = run(fake_openai, Crew(cards_per_topic=3))
    chosen = first.cards[:2]

    def split_first_drop_second(cards: list[dict[str, Any]]) -> dict[str, Any]:
        halves = [{"kind": "basic", "front": f"Part {n}?", "back": f"Part {n}", "extra": ""} for n in (1, 2)]
        return {
            "edits": [{"card": 1, "action": "split", "cards": halves}, {"card": 2, "action": "drop"}],
            "changes": ["split", "dropped"],
        }

    result = regenerate(fake_openai, Crew(review=split_first_drop_second), chosen, "shorter")

    assert result.cards[0].id == chosen[0].id and result.cards[1].id.startswith(chosen[0].id + ".")
    merged = apply_regeneration(first.cards, result)
    assert len(merged) == len(first.cards) + 1
    assert merged[2] == first.cards[1], "a card whose replacement was dropped stays as it was"


def test_regeneration_of_a_long_source_reads_only_the_cards_chunks(fake_openai: FakeOpenAI) -> None:
    long = Source(text=long_text(12))
    first = run(fake_openai, Crew(cards_per_topic=1), [long], llm={"context_window": 16_000})
    [from_last_chunk] = [card for card in first.cards if card.provenance.topic == "Indicator family 12"]
    assert from_last_chunk.provenance.chunk == 2

    crew = Crew()
    fake_openai.handler = crew
    settings = settings_for(fake_openai, llm={"context_window": 16_000})
    run_ = PipelineRun.regeneration([from_last_chunk], "shorter", long, settings)
    run_.start()
    run_.result(timeout=20)

    text = source_of(crew.requests("Revision")[0]) or ""
    assert "## Indicator family 12" in text and "## Indicator family 1\n" not in text


# What the dialog relies on: batches streamed as they finish, a completion callback, exact replacement ids


def test_each_batch_s_cards_arrive_as_it_finishes_and_on_done_comes_last(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = Crew(cards_per_topic=2)
    ready: list[CardsReady] = []
    done: list[tuple[int, bool]] = []

    def on_done(run_: PipelineRun) -> None:
        done.append((threading.get_ident(), bool(run_.result(timeout=0).cards)))

    run_ = PipelineRun(
        [SOURCE],
        settings_for(fake_openai),
        on_event=lambda event: ready.append(event) if isinstance(event, CardsReady) else None,
        on_done=on_done,
    )
    run_.start()
    result = run_.result(timeout=20)
    deadline = time.monotonic() + 5
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)

    assert len(ready) == 3 and {event.batch for event in ready} == {(0, n) for n in range(3)}
    assert sorted(event.topic for event in ready) == sorted(BATCHES)
    topics = [len(event.topic.split("; ")) for event in ready]
    assert [event.topics_done for event in ready] == list(itertools.accumulate(topics)), "topics done"
    assert {event.topics_total for event in ready} == {5}
    streamed = {card.id for event in ready for card in event.cards}
    assert streamed == {card.id for card in result.cards}
    assert all(card.fields for event in ready for card in event.cards)
    assert done == [(done[0][0], True)] and done[0][0] != threading.get_ident()


class Listener:
    """What a dialog gets: every `CardsReady` in order, then "done"."""

    def __init__(self) -> None:
        self.log: list[CardsReady | str] = []
        self.done = threading.Event()

    def on_event(self, event: ProgressEvent) -> None:
        if isinstance(event, CardsReady):
            self.log.append(event)

    def on_done(self, run_: PipelineRun) -> None:
        self.log.append("done")
        self.done.set()

    def batches(self) -> list[CardsReady]:
        assert self.done.wait(10) and self.log[-1] == "done", "on_done comes once, after every batch"
        return [event for event in self.log if isinstance(event, CardsReady)]


def assert_streamed_as_result(batches: list[CardsReady], result: RunResult) -> None:
    """The cards of each batch as last sent, in batch order, are the result's cards: none lost, none twice."""
    last = {event.batch: event.cards for event in batches}
    streamed = [card for batch in sorted(last) for card in last[batch]]
    assert [card.id for card in streamed] == [card.id for card in result.cards]
    assert [card.draft for card in streamed] == [card.draft for card in result.cards]
    assert [card.fields for card in streamed] == [card.fields for card in result.cards]


def run_ending(
    fake_openai: FakeOpenAI, handler: Callable[[Request], Reply], end: str
) -> tuple[RunResult, list[CardsReady]]:
    """A run of SOURCE whose first Review is answered at once and the others after 30 s, ended as `end` says:
    "Stop" once a batch is streamed, "time limit" after 1.5 s, or "done" (no Review held back)."""
    delay = first_fast_then_slow("Review", 0.0 if end == "done" else 30.0)

    def held(request: Request) -> Reply:
        return dataclasses.replace(handler(request), delay=delay(request.schema_name, request))

    fake_openai.handler = held
    listener = Listener()
    settings = settings_for(fake_openai, run_timeout=1.5 if end == "time limit" else 600)
    run_ = PipelineRun([SOURCE], settings, on_event=listener.on_event, on_done=listener.on_done)
    run_.start()
    if end == "Stop":
        deadline = time.monotonic() + 20
        while not listener.log and time.monotonic() < deadline:  # one batch reviewed and formatted
            time.sleep(0.01)
        run_.cancel()
    result = run_.result(timeout=10)
    return result, listener.batches()


@pytest.mark.parametrize("end", ["Stop", "time limit"])
def test_batches_formatted_at_the_end_of_a_stopped_run_are_streamed_once_before_on_done(
    fake_openai: FakeOpenAI, end: str
) -> None:
    result, batches = run_ending(fake_openai, Crew(), end)

    assert len(result.cards) == 45
    assert sorted(event.batch for event in batches) == [(0, n) for n in range(3)], "each batch once"
    assert all("Reviewer" in card.provenance.agents for card in batches[0].cards)
    assert_streamed_as_result(batches, result)


SHARED = {"kind": "basic", "front": "What do all five indicators read?", "back": "Price history", "topic": 1}
"""A card the Q&A Generator writes in every batch."""


def with_shared_card(crew: Crew) -> Callable[[Request], Reply]:
    def reply(request: Request) -> Reply:
        answer = crew(request)
        if request.schema_name != "CardDrafts":
            return answer
        return dataclasses.replace(answer, data={"cards": [*answer.data["cards"], SHARED]})

    return reply


@pytest.mark.parametrize("end", ["done", "Stop", "time limit"])
def test_a_card_repeated_across_batches_is_streamed_once_and_is_in_the_result_once(
    fake_openai: FakeOpenAI, end: str
) -> None:
    """However the run ends, a repeat is dropped as its batch is finished, also when a stopped run formats
    the batch without the LLM: the listener never gets it twice, and what it got is the result."""
    result, batches = run_ending(fake_openai, with_shared_card(Crew()), end)

    streamed = [card.draft for event in batches for card in event.cards]
    assert [draft.question for draft in streamed if isinstance(draft, BasicCard)].count(
        str(SHARED["front"])
    ) == 1
    assert len(result.cards) == 45 + 1
    assert_streamed_as_result(batches, result)


def test_a_bug_mid_run_keeps_every_batch_formatted_and_streamed(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception that is not a pipeline error (a bug) ends the run; it is one line of step "run", and the
    cards made by then (at least those of the batch whose review failed) are formatted without the LLM and
    streamed before on_done."""
    from addon.pipeline.workflow import stages

    review = stages.review

    async def buggy_review(agents: Any, batch: Any, cards: Any, written: Any) -> Any:
        if batch.index == 1:
            raise RuntimeError("a bug\nwith a traceback's second line")
        return await review(agents, batch, cards, written)

    monkeypatch.setattr(stages, "review", buggy_review)
    fake_openai.handler = Crew()
    listener = Listener()
    run_ = PipelineRun(
        [SOURCE], settings_for(fake_openai), on_event=listener.on_event, on_done=listener.on_done
    )
    run_.start()
    result = run_.result(timeout=20)

    assert [(error.step, error.message) for error in result.errors] == [
        ("run", "The run stopped on an unexpected error: RuntimeError: a bug")
    ]
    assert all(card.fields for card in result.cards)
    failed = [card for card in result.cards if card.provenance.topic in BATCHES[1].split("; ")]
    assert len(failed) == 18 and all(card.provenance.agents[-1] == "Formatter" for card in failed)
    assert not any("Reviewer" in card.provenance.agents for card in failed)
    assert_streamed_as_result(listener.batches(), result)


def test_a_batch_formatted_again_is_streamed_again_and_its_last_cards_are_the_result(
    fake_openai: FakeOpenAI,
) -> None:
    """The orchestrator formats, then reviews (the first batch's review comes back, the next never does):
    the run's time limit leaves the first batch's reviewed cards to be formatted at the end."""
    decisions = ["Topic Analyzer", "Q&A Generator", "Formatter", "Reviewer", "END"]
    fake_openai.handler = Crew(decisions=decisions, delay=first_fast_then_slow("Review", 30.0))
    listener = Listener()
    settings = settings_for(fake_openai, mode="orchestrator", run_timeout=2.0)
    run_ = PipelineRun([SOURCE], settings, on_event=listener.on_event, on_done=listener.on_done)
    run_.start()
    result = run_.result(timeout=10)
    batches = listener.batches()

    assert [error.step for error in result.errors] == ["run"]
    assert [event.batch for event in batches] == [(0, n) for n in range(3)] + [(0, 0)]
    assert batches[0].cards != batches[-1].cards
    assert_streamed_as_result(batches, result)


def test_on_done_is_called_for_a_cancelled_run_too(fake_openai: FakeOpenAI) -> None:
    fake_openai.handler = Crew(delay=lambda schema, request: 5.0)
    done = threading.Event()
    run_ = PipelineRun([SOURCE], settings_for(fake_openai), on_done=lambda run_: done.set())
    run_.start()
    time.sleep(0.3)
    run_.cancel()
    assert done.wait(3)
    assert run_.result(timeout=0).cancelled


def test_regenerating_a_card_split_from_another_replaces_exactly_that_card(fake_openai: FakeOpenAI) -> None:
    def split_first(cards: list[dict[str, Any]]) -> dict[str, Any]:
        first = cards[0]["front"]  # halves of their own: a repeat of another card would be dropped
        halves = [
            {"kind": "basic", "front": f"{first} ({n})", "back": made_up_word(first, n)} for n in (1, 2)
        ]
        return {"edits": [{"card": 1, "action": "split", "cards": halves}], "changes": ["split"]}

    first = run(fake_openai, Crew(cards_per_topic=2, review=split_first))
    parent, child = first.cards[0], first.cards[1]
    assert child.id.startswith(parent.id + ".")

    result = regenerate(fake_openai, Crew(), [child], "make it a cloze")

    assert [card.replaces for card in result.cards] == [child.id]
    merged = apply_regeneration(first.cards, result)
    assert merged[0] == parent, "the card it was split from stays"
    assert isinstance(merged[1].draft, ClozeCard) and merged[1].replaces is None
    assert merged[2:] == first.cards[2:]

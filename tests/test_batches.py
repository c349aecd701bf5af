"""Requests follow the amount of material, not the number of topics: a chunk keeps a bounded number of topics
(the least important folded into the closest), and topics go in batches of a bounded number of planned cards,
close topics together, whose cards are written in one request and reviewed in another."""

from __future__ import annotations

from typing import Any

import pytest

from addon.pipeline import Source
from addon.pipeline.agents.team import card_budget
from addon.pipeline.models import AnalyzedTopic
from addon.pipeline.settings import LLMSettings
from addon.pipeline.workflow.batches import MAX_BATCH_CARDS, MIN_BATCH_CARDS, batch_cards, group
from addon.pipeline.workflow.events import PlannedTopic
from addon.pipeline.workflow.topics import MAX_TOPICS_PER_CHUNK, fold_topics

from .fake_openai import FakeOpenAI, Reply, Request
from .pipeline_crew import Crew, long_text, run, topics_of

pytestmark = pytest.mark.timeout(60)


def planned(name: str, importance: int, *points: str, chunks: tuple[int, ...] = (0,), order: int = 0) -> Any:
    topic = AnalyzedTopic(name=name, importance=importance, key_points=list(points))
    return PlannedTopic(topic=topic, chunks=list(chunks), order=order)


LSM = planned(
    "LSM-trees",
    3,
    "Writes go to an in-memory memtable",
    "Full memtables are flushed as sorted SSTables",
    "Compaction merges SSTables",
    "Reads check the memtable, then SSTables newest first",
    "Bloom filters skip SSTables without the key",
    "Tombstones mark deleted keys",
    order=0,
)
B_TREES = planned(
    "B-trees",
    3,
    "Pages of fixed size on disk",
    "Updates overwrite pages in place",
    "A write-ahead log makes updates crash-safe",
    "Splitting a full page",
    "Branching factor keeps the tree shallow",
    order=1,
)
COMPARISON = planned(
    "B-trees versus LSM-trees",
    2,
    "LSM-trees write faster: sequential SSTables instead of pages in place",
    "B-trees read faster: one page per level",
    order=2,
)
REPLICATION = planned(
    "Replication",
    3,
    "Leaders accept writes",
    "Followers apply the replication log",
    "Asynchronous followers may lag",
    "Failover promotes a follower",
    "Read-your-writes consistency",
    "Split brain after a failover",
    order=3,
)
ENCODING = planned("Encoding", 1, "Protocol Buffers tag fields by number", order=4)


def test_topics_go_in_batches_of_a_bounded_number_of_planned_cards_close_ones_together() -> None:
    batches = group([LSM, B_TREES, COMPARISON, REPLICATION, ENCODING])

    names = [[p.topic.name for p in batch] for batch in batches]
    assert names == [["LSM-trees", "B-trees", "B-trees versus LSM-trees", "Encoding"], ["Replication"]]
    assert all(sum(card_budget(p.topic) for p in batch) <= MAX_BATCH_CARDS for batch in batches)


def window(tokens: int, **options: Any) -> LLMSettings:
    return LLMSettings(context_window=tokens, **options)


def test_a_small_context_window_makes_smaller_batches() -> None:
    assert batch_cards(window(16_000)) == batch_cards(window(8_192)) == MAX_BATCH_CARDS
    assert batch_cards(window(4_096)) == 6, "half the window is kept for the reply (max_tokens)"
    assert batch_cards(window(4_096, max_reply_tokens=1_024)) == 11
    assert batch_cards(window(2_048)) == MIN_BATCH_CARDS
    topics = [LSM, B_TREES, COMPARISON, REPLICATION, ENCODING]
    small = group(topics, batch_cards(window(4_096, max_reply_tokens=1_024)))
    assert [[p.topic.name for p in batch] for batch in small] == [
        ["LSM-trees", "B-trees versus LSM-trees", "Encoding"],  # 6 + 2 + 1 cards
        ["B-trees", "Replication"],  # 5 + 6
    ]
    assert len(group(topics, 2)) == len(topics), "a topic that plans more than a batch holds goes alone"


def test_a_batch_prefers_topics_of_its_chunks_and_spans_at_most_two() -> None:
    points = [f"Point number {n}" for n in range(8)]  # 8 cards planned: two topics fill a batch
    first = planned("Topic A", 3, *points, chunks=(0,), order=0)
    later = [planned(f"Topic {n}", 3, *points, chunks=(n,), order=n) for n in (1, 2, 3)]
    same = planned("Topic B", 3, "Something else entirely", chunks=(0,), order=4)

    batches = group([first, *later, same])

    assert [[p.topic.name for p in batch] for batch in batches] == [
        ["Topic A", "Topic B"],  # the same chunk first, though Topic 1 has the very same points
        ["Topic 1", "Topic 2"],
        ["Topic 3"],
    ]
    spanning = planned("Topic C", 1, "A detail", chunks=(0, 1), order=5)
    assert [len(batch) for batch in group([*later[:2], spanning])] == [2, 1], "three chunks are too many"


def test_a_chunk_keeps_a_bounded_number_of_topics_the_least_important_folded_into_the_closest() -> None:
    topics = [
        AnalyzedTopic(name=f"Section {n}", importance=3 if n < 4 else 2, key_points=[f"Fact about item{n}"])
        for n in range(MAX_TOPICS_PER_CHUNK)
    ]
    minor = AnalyzedTopic(name="A detail of section 2", importance=1, key_points=["Another fact about item2"])
    folded = fold_topics([*topics[:3], minor, *topics[3:]])

    assert [topic.name for topic in folded] == [topic.name for topic in topics]
    assert folded[2].key_points == ["Fact about item2", "Another fact about item2"]
    assert fold_topics(topics) == topics


def test_a_long_text_takes_requests_by_the_batch(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=2)
    result = run(fake_openai, crew, [Source(text=long_text(12))], llm={"context_window": 16_000})

    generated = crew.requests("CardDrafts")
    assert [len(topics_of(request)) for request in generated] == [2] * 6
    assert len(crew.requests("Review")) == 6
    assert result.usage.requests == 3 + 6 + 6
    assert {card.provenance.topic for card in result.cards} == {f"Indicator family {n}" for n in range(1, 13)}


def test_a_card_naming_no_topic_of_its_batch_goes_to_the_closest(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=1)

    def misnumbered(request: Request) -> Reply:
        reply = crew(request)
        for card in reply.data["cards"]:
            card["topic"] = 7  # no such topic
        return reply

    fake_openai.on("CardDrafts", misnumbered)
    text = "## Squeeze\nBollinger Bands narrow before strong moves.\n\n## Golden Cross\nThe 50-day average."
    result = run(fake_openai, crew, [Source(text=text)])

    assert {card.provenance.topic for card in result.cards} == {"Squeeze", "Golden Cross"}

"""The topics to make cards for: the Topic Analyzer's findings per chunk, merged per source into work items.

Chunks are analysed blind to each other, so a later chunk (often a conclusion) names again what an earlier
one found. Topics are merged by meaning within a source, not across sources, so that every card keeps its
note: a topic of a later chunk joins an earlier topic with a similar name or with mostly the same key points,
and brings only the points that are new; a topic whose points all repeat earlier ones is a recap and is
dropped. Similarity is `cards.similarity`: shared word stems weighted by rarity, no model involved.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from ..cards.lints import NEAR_DUPLICATE
from ..cards.similarity import Corpus, stems
from ..models import AnalyzedTopic, Outline, Source, Topic, TopicAnalysis
from .chunking import Chunk, chunk_text
from .events import TopicWork

_NOT_WORD = re.compile(r"[\W_]+")
SAME_NAME = 0.7
"""Name similarity from which topics of different chunks are one topic."""
SAME_POINT = NEAR_DUPLICATE
"""Similarity from which two key points (or connections) say the same, as for cards."""


class TopicPlan(BaseModel):
    """A merged topic, the chunks of its source it was found in, and whether it involves code."""

    topic: AnalyzedTopic
    chunks: list[int]


def plan_topics(
    sources: Sequence[Source],
    chunks: Sequence[Chunk],
    analyses: Sequence[tuple[Chunk, TopicAnalysis | None]],
    target_language: str | None,
) -> list[TopicWork]:
    """The topics to make cards for: per source, its chunks' topics merged, each with its source text."""
    works: list[TopicWork] = []
    for source_index, source in enumerate(sources):
        own = sorted(
            (
                (chunk, analysis)
                for chunk, analysis in analyses
                if analysis and chunk.source_index == source_index
            ),
            key=lambda pair: pair[0].index,
        )
        plans = merge_topics((chunk.index, topic) for chunk, analysis in own for topic in analysis.topics)
        language = target_language or source.language or common_language(a.language for _, a in own)
        source_chunks = sorted((c for c in chunks if c.source_index == source_index), key=lambda c: c.index)
        names = [plan.topic.name for plan in plans]
        works += [
            TopicWork(
                source_index=source_index,
                topic_index=index,
                note_id=source.note_id,
                topic=plan.topic,
                chunk=plan.chunks[0],
                text=chunk_text(source_chunks, plan.chunks),
                other_topics=[name for name in names if name != plan.topic.name],
                language=language or None,
            )
            for index, plan in enumerate(plans)
        ]
    return works


def outline_of(works: Sequence[TopicWork], analyses: Sequence[tuple[Chunk, TopicAnalysis | None]]) -> Outline:
    """The run's outline: every topic, and the source language the Topic Analyzer found most often."""
    return Outline(
        language=common_language(analysis.language for _, analysis in analyses if analysis),
        topics=[Topic.model_validate(work.topic.model_dump(exclude={"code"})) for work in works],
    )


def normalize_name(name: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", name.casefold()).split())


def merge_topics(found: Iterable[tuple[int, AnalyzedTopic]]) -> list[TopicPlan]:
    """The distinct topics, in order of first appearance; `found` pairs chunk index and topic, in chunk order.

    Within a chunk, topics merge only when their names are the same (ignoring case and punctuation); across
    chunks, by meaning (see the module's docstring).
    """
    found = [(chunk, topic) for chunk, topic in found if normalize_name(topic.name)]
    corpus = Corpus(
        text for _, topic in found for text in (topic.name, *topic.key_points, *topic.connections)
    )
    plans: list[TopicPlan] = []
    for chunk, topic in found:
        earlier = [point for plan in plans if chunk not in plan.chunks for point in _points(plan.topic)]
        fresh = [p for p in _points(topic) if not any(_same(corpus, p, e, SAME_POINT) for e in earlier)]
        kept = topic.model_copy(
            update={
                "key_points": [p for p in topic.key_points if p in fresh],
                "connections": [p for p in topic.connections if p in fresh],
            }
        )
        plan = next((plan for plan in plans if _same_topic(corpus, plan, chunk, topic)), None)
        if plan is not None:
            _join(plan, chunk, kept)
        elif fresh or not _points(topic):
            plans.append(TopicPlan(topic=kept, chunks=[chunk]))
    return plans


def _points(topic: Topic) -> list[str]:
    return [*topic.key_points, *topic.connections]


def _same(corpus: Corpus, first: str, second: str, threshold: float) -> bool:
    return corpus.similarity(stems(first), stems(second)) >= threshold


def _same_topic(corpus: Corpus, plan: TopicPlan, chunk: int, topic: AnalyzedTopic) -> bool:
    """The same name; or, from another chunk, a similar name or mostly the same points."""
    if normalize_name(plan.topic.name) == normalize_name(topic.name):
        return True
    if chunk in plan.chunks:
        return False
    if _same(corpus, plan.topic.name, topic.name, SAME_NAME):
        return True
    points = _points(topic)
    repeated = [p for p in points if any(_same(corpus, p, q, SAME_POINT) for q in _points(plan.topic))]
    return bool(points) and 2 * len(repeated) >= len(points)


def _join(plan: TopicPlan, chunk: int, topic: AnalyzedTopic) -> None:
    """Add what `topic` brings to `plan`: its points, its chunk, and its code flag and importance."""
    old = plan.topic
    plan.topic = old.model_copy(
        update={
            "key_points": _union(old.key_points, topic.key_points),
            "connections": _union(old.connections, topic.connections),
            "importance": max(old.importance, topic.importance),
            "code": old.code or topic.code,
        }
    )
    if chunk not in plan.chunks:
        plan.chunks.append(chunk)


def common_language(languages: Iterable[str]) -> str:
    counts = Counter(language.strip() for language in languages if language.strip())
    return counts.most_common(1)[0][0] if counts else ""


def _union(first: list[str], second: list[str]) -> list[str]:
    seen = {normalize_name(item) for item in first}
    merged = list(first)
    for item in second:
        if (key := normalize_name(item)) not in seen:
            seen.add(key)
            merged.append(item)
    return merged

"""The topics to make cards for: the Topic Analyzer's findings per chunk, merged per source into work items.

Topics are merged by name within a source, not across sources, so that every card keeps its note.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from ..models import AnalyzedTopic, Outline, Source, Topic, TopicAnalysis
from .chunking import Chunk, chunk_text
from .events import TopicWork

_NOT_WORD = re.compile(r"[\W_]+")


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
    """One plan per distinct topic name, in order of first appearance; `found` pairs chunk index and topic."""
    plans: dict[str, TopicPlan] = {}
    for chunk, topic in found:
        key = normalize_name(topic.name)
        if not key:
            continue
        if (plan := plans.get(key)) is None:
            plans[key] = TopicPlan(topic=topic, chunks=[chunk])
            continue
        old = plan.topic
        plan.topic = old.model_copy(
            update={
                "subtopics": _union(old.subtopics, topic.subtopics),
                "key_concepts": _union(old.key_concepts, topic.key_concepts),
                "applications": _union(old.applications, topic.applications),
                "code": old.code or topic.code,
            }
        )
        if chunk not in plan.chunks:
            plan.chunks.append(chunk)
    return list(plans.values())


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

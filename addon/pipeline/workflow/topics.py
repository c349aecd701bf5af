"""The topics to make cards for: the Topic Analyzer's findings per chunk, merged per source, in batches.

Chunks are analysed blind to each other, so a later chunk (often a conclusion) names again what an earlier
one found. Topics are merged by meaning within a source, not across sources, so that every card keeps its
note: a topic of a later chunk joins an earlier topic with a similar name or with mostly the same key points,
and brings only the points that are new; a topic whose points all repeat earlier ones is a recap and is
dropped. A chunk keeps at most `MAX_TOPICS_PER_CHUNK` topics: the least important beyond them are folded into
the closest of the others. Similarity is `cards.similarity`: shared word stems weighted by rarity, no model
involved. The topics of a source are then grouped into batches (batches.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from ..agents import prompts
from ..cards.lints import NEAR_DUPLICATE
from ..cards.similarity import Corpus, stems
from ..models import AnalyzedTopic, Outline, Source, Topic, TopicAnalysis
from .batches import group
from .chunking import Chunk, chunk_text
from .events import Batch, PlannedTopic

_NOT_WORD = re.compile(r"[\W_]+")
SAME_NAME = 0.7
"""Name similarity from which topics of different chunks are one topic."""
SAME_POINT = NEAR_DUPLICATE
"""Similarity from which two key points (or connections) say the same, as for cards."""
MAX_TOPICS_PER_CHUNK = prompts.MAX_TOPICS
"""The most topics a chunk keeps: as many as the Topic Analyzer is asked for at most."""


def plan_topics(
    sources: Sequence[Source],
    chunks: Sequence[Chunk],
    analyses: Sequence[tuple[Chunk, TopicAnalysis | None]],
    target_language: str | None,
    most_cards: int,
) -> list[Batch]:
    """The batches to make cards for: per source, its chunks' topics merged and grouped (at most
    `most_cards` planned a batch: `batches.batch_cards`), each batch with the text of its topics' chunks."""
    batches: list[Batch] = []
    for source_index, source in enumerate(sources):
        own = sorted(
            (
                (chunk, analysis)
                for chunk, analysis in analyses
                if analysis and chunk.source_index == source_index
            ),
            key=lambda pair: pair[0].index,
        )
        planned = merge_topics(
            (chunk.index, topic) for chunk, analysis in own for topic in fold_topics(analysis.topics)
        )
        language = target_language or source.language or common_language(a.language for _, a in own)
        source_chunks = sorted((c for c in chunks if c.source_index == source_index), key=lambda c: c.index)
        for index, members in enumerate(group(planned, most_cards)):
            names = {member.topic.name for member in members}
            batches.append(
                Batch(
                    source_index=source_index,
                    index=index,
                    note_id=source.note_id,
                    topics=members,
                    text=chunk_text(source_chunks, (c for member in members for c in member.chunks)),
                    other_topics=[p.topic.name for p in planned if p.topic.name not in names],
                    language=language or None,
                )
            )
    return batches


def outline_of(batches: Sequence[Batch], analyses: Sequence[tuple[Chunk, TopicAnalysis | None]]) -> Outline:
    """The run's outline: every topic in the order of its source's plan, and the source language the Topic
    Analyzer found most often."""
    planned = sorted(
        ((batch.source_index, member.order, member.topic) for batch in batches for member in batch.topics),
        key=lambda item: item[:2],
    )
    return Outline(
        language=common_language(analysis.language for _, analysis in analyses if analysis),
        topics=[Topic.model_validate(topic.model_dump(exclude={"code"})) for _, _, topic in planned],
    )


def fold_topics(topics: Sequence[AnalyzedTopic]) -> list[AnalyzedTopic]:
    """At most MAX_TOPICS_PER_CHUNK topics, in their order: the least important beyond that join the kept
    topic most like them, with their points."""
    if len(topics) <= MAX_TOPICS_PER_CHUNK:
        return list(topics)
    ranked = sorted(range(len(topics)), key=lambda index: -topics[index].importance)
    kept = {index: topics[index] for index in sorted(ranked[:MAX_TOPICS_PER_CHUNK])}
    corpus = Corpus(" ".join([topic.name, *_points(topic)]) for topic in topics)
    for extra in ranked[MAX_TOPICS_PER_CHUNK:]:
        closest = corpus.most_similar(extra, list(kept))
        assert closest is not None
        kept[closest[0]] = _combined(kept[closest[0]], topics[extra])
    return list(kept.values())


def normalize_name(name: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", name.casefold()).split())


def merge_topics(found: Iterable[tuple[int, AnalyzedTopic]]) -> list[PlannedTopic]:
    """The distinct topics, in order of first appearance; `found` pairs chunk index and topic, in chunk order.

    Within a chunk, topics merge only when their names are the same (ignoring case and punctuation); across
    chunks, by meaning (see the module's docstring).
    """
    found = [(chunk, topic) for chunk, topic in found if normalize_name(topic.name)]
    corpus = Corpus(
        text for _, topic in found for text in (topic.name, *topic.key_points, *topic.connections)
    )
    plans: list[PlannedTopic] = []
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
            plans.append(PlannedTopic(topic=kept, chunks=[chunk], order=len(plans)))
    return plans


def _points(topic: Topic) -> list[str]:
    return [*topic.key_points, *topic.connections]


def _same(corpus: Corpus, first: str, second: str, threshold: float) -> bool:
    return corpus.similarity(stems(first), stems(second)) >= threshold


def _same_topic(corpus: Corpus, plan: PlannedTopic, chunk: int, topic: AnalyzedTopic) -> bool:
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


def _join(plan: PlannedTopic, chunk: int, topic: AnalyzedTopic) -> None:
    """Add what `topic` brings to `plan`: its points, its chunk, and its code flag and importance."""
    plan.topic = _combined(plan.topic, topic)
    if chunk not in plan.chunks:
        plan.chunks.append(chunk)


def _combined(first: AnalyzedTopic, second: AnalyzedTopic) -> AnalyzedTopic:
    """`first` with the points of `second` it lacks, the higher importance and either's code flag."""
    return first.model_copy(
        update={
            "key_points": _union(first.key_points, second.key_points),
            "connections": _union(first.connections, second.connections),
            "importance": max(first.importance, second.importance),
            "code": first.code or second.code,
        }
    )


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

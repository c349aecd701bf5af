"""The agents: one method per role, each a single LLM call with its own prompt (prompts.py) and reply model
(models.py).

An agent gets only what its role needs, never a conversation history. Cards go to the model numbered from 1
and come back as edits by number (edits.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from llama_index.core.llms import ChatMessage
from pydantic import BaseModel

from ..llm.client import LLMClient
from ..llm.slots import Slots
from ..models import (
    CardDraft,
    CardDrafts,
    Decision,
    ExistingNote,
    ExtraFields,
    GeneratedCard,
    LintFinding,
    NoteVerdicts,
    RepairedCard,
    Review,
    Revision,
    Topic,
    TopicAnalysis,
    decision_offering,
)
from ..roles import Role
from . import prompts
from .edits import numbered, to_draft, to_json

T = TypeVar("T", bound=BaseModel)

FIRST, EARLY, LAST = 0, 1, 2
"""Request priorities (`Slots`): the fewer requests still follow a request in its topic, the later it goes."""


CARD_BUDGET = {3: 8, 2: 5, 1: 2}
"""The most cards a topic gets, by importance; fewer when the Topic Analyzer planned fewer points."""


def card_budget(topic: Topic) -> int:
    planned = len(topic.key_points) + len(topic.connections)
    return min(planned, CARD_BUDGET[topic.importance]) if planned else CARD_BUDGET[topic.importance]


def _unchecked(messages: Sequence[ChatMessage]) -> None:
    pass


@dataclass
class Agents:
    """The agents of one run. `slots` bounds how many requests run at once across all steps; `check` sees
    every request's messages before it is sent (the run's context-window check)."""

    llm: LLMClient
    slots: Slots
    check: Callable[[Sequence[ChatMessage]], None] = _unchecked

    async def analyze(self, text: str, *, part: str = "") -> TopicAnalysis:
        task = "Plan the topics of the source." + (f" {part}" if part else "")
        return await self._ask(TopicAnalysis, prompts.TOPIC_ANALYZER, Role.TOPIC_ANALYZER, FIRST, task, text)

    async def generate(
        self, text: str, topics: Sequence[Topic], *, other_topics: Sequence[str], language: str | None
    ) -> list[GeneratedCard]:
        """The cards of a batch of topics; each names its topic by number, from 1 (`GeneratedCard.topic`)."""
        listed = [
            to_json(
                {"topic": number, **topic.model_dump(include=_TOPIC_FIELDS), "most_cards": card_budget(topic)}
            )
            for number, topic in enumerate(topics, start=1)
        ]
        task = "\n".join(
            [
                "Your topics:",
                *listed,
                f"Other topics (not yours): {to_json(list(other_topics))}",
                prompts.language_rule(language),
            ]
        )
        step = f"{Role.QA_GENERATOR}: {'; '.join(topic.name for topic in topics)}"
        return (await self._ask(CardDrafts, prompts.QA_GENERATOR, step, EARLY, task, text)).cards

    async def enrich(
        self, text: str, drafts: Sequence[CardDraft], *, topics: str, language: str | None
    ) -> ExtraFields:
        task = (
            f"Topics: {topics}\nWrite the extra field of each of these cards:\n{numbered(drafts)}\n"
            f"{prompts.language_rule(language, keep=True)}"
        )
        step = f"{Role.CODE_EXPERT}: {topics}"
        return await self._ask(ExtraFields, prompts.CODE_EXPERT, step, EARLY, task, text)

    async def review(
        self,
        text: str,
        drafts: Sequence[CardDraft],
        findings: Sequence[Sequence[LintFinding]],
        *,
        topics: str,
        others: Sequence[str] = (),
        language: str | None,
    ) -> Review:
        """`others` are cards of other topics, written before, that look close to these, one line each."""
        lines = [f"Topics: {topics}"]
        if others:
            lines += ["Cards of other topics that look close to these (they stay; do not repeat them):"]
            lines += others
        lines += [
            "Review these cards:",
            numbered(drafts, findings),
            prompts.language_rule(language, keep=True),
        ]
        task = "\n".join(lines)
        return await self._ask(Review, prompts.REVIEWER, f"{Role.REVIEWER}: {topics}", LAST, task, text)

    async def repair(self, draft: CardDraft, findings: Sequence[LintFinding], *, topic: str) -> CardDraft:
        task = f"Fix this card:\n{numbered([draft], [findings])}"
        step = f"{Role.FORMATTER}: {topic}"
        return to_draft((await self._ask(RepairedCard, prompts.FORMATTER, step, LAST, task)).card)

    async def revise(
        self, text: str, drafts: Sequence[CardDraft], feedback: str, *, language: str | None
    ) -> Revision:
        task = (
            f"The learner's feedback: {to_json(feedback)}\nRevise these cards:\n{numbered(drafts)}\n"
            f"{prompts.language_rule(language, keep=True)}"
        )
        return await self._ask(Revision, prompts.REVISER, f"{Role.QA_GENERATOR}: feedback", EARLY, task, text)

    async def rereview(
        self,
        notes: Sequence[ExistingNote],
        findings: Sequence[Sequence[LintFinding]],
        *,
        sources: Sequence[str],
        feedback: str = "",
        step: str,
        language: str | None,
    ) -> NoteVerdicts:
        """Verdicts on existing notes (numbered from 1); `sources` are the texts some of them were made from,
        each note naming its own (S1, S2…)."""
        labels = {source: f"S{number}" for number, source in enumerate(sources, start=1)}
        source = "\n\n".join(f"[{label}]\n{text}" for text, label in labels.items()) if sources else None
        lines = []
        for number, (note, found) in enumerate(zip(notes, findings, strict=True), start=1):
            item: dict[str, object] = {"note": number, **note.card.model_dump()}
            if not note.has_extra:
                item["no_extra"] = True
            if note.source in labels:
                item["source"] = labels[note.source]
            if found:
                item["lint"] = [f"{f.lint_id}: {f.message}" for f in found]
            lines.append(to_json(item))
        rules = [prompts.feedback_rule(feedback)] if feedback else []
        task = "\n".join(["Review these notes:", *lines, *rules, prompts.language_rule(language, keep=True)])
        return await self._ask(NoteVerdicts, prompts.REREVIEWER, step, EARLY, task, source)

    async def decide(self, state: str, choices: Sequence[str]) -> Decision:
        """The next step, chosen among `choices`: the only ones the reply's schema offers."""
        task = f"The state of the work:\n{state}\nWhich agent works next?"
        schema = decision_offering(tuple(choices))
        return await self._ask(schema, prompts.ORCHESTRATOR, Role.ORCHESTRATOR, FIRST, task)

    async def _ask(
        self, output_cls: type[T], system: str, step: str, priority: int, task: str, source: str | None = None
    ) -> T:
        messages = prompts.request(system, task, source=source)
        self.check(messages)
        async with self.slots(priority):
            return await self.llm.structured(output_cls, messages, step=step)


_TOPIC_FIELDS = {"name", "key_points", "connections"}

"""The agents: one method per role, each a single LLM call with its own prompt (prompts.py) and reply model
(models.py).

An agent gets only what its role needs, never a conversation history. Cards go to the model numbered from 1
and come back as edits by number (edits.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from llama_index.core.llms import ChatMessage
from pydantic import BaseModel

from ..llm.client import LLMClient
from ..llm.slots import Slots
from ..models import (
    BasicCard,
    CardDraft,
    CardDrafts,
    Decision,
    ExistingNote,
    ExtraFields,
    LintFinding,
    NoteCard,
    NoteVerdicts,
    RepairedCard,
    Review,
    Revision,
    Topic,
    TopicAnalysis,
)
from ..roles import Role
from . import prompts
from .edits import numbered, to_json

T = TypeVar("T", bound=BaseModel)

FIRST, EARLY, LAST = 0, 1, 2
"""Request priorities (`Slots`): the fewer requests still follow a request in its topic, the later it goes."""


@dataclass
class Agents:
    """The agents of one run. `slots` bounds how many requests run at once across all steps."""

    llm: LLMClient
    slots: Slots

    async def analyze(self, text: str, *, part: str = "") -> TopicAnalysis:
        task = "List the topics of the source." + (f" {part}" if part else "")
        return await self._ask(TopicAnalysis, prompts.TOPIC_ANALYZER, Role.TOPIC_ANALYZER, FIRST, text, task)

    async def generate(
        self, text: str, topic: Topic, *, other_topics: Sequence[str], language: str | None
    ) -> list[CardDraft]:
        task = (
            f"Write flashcards for this topic:\n{to_json(topic.model_dump(include=_TOPIC_FIELDS))}\n"
            f"Other topics (not yours): {to_json(list(other_topics))}\n{prompts.language_rule(language)}"
        )
        step = f"{Role.QA_GENERATOR}: {topic.name}"
        return (await self._ask(CardDrafts, prompts.QA_GENERATOR, step, EARLY, text, task)).cards

    async def enrich(self, drafts: Sequence[CardDraft], *, topic: str, language: str | None) -> ExtraFields:
        task = (
            f"Topic: {topic}\nWrite the extra field of each of these cards:\n{numbered(drafts)}\n"
            f"{prompts.language_rule(language, keep=True)}"
        )
        return await self._ask(
            ExtraFields, prompts.CODE_EXPERT, f"{Role.CODE_EXPERT}: {topic}", EARLY, None, task
        )

    async def review(
        self,
        drafts: Sequence[CardDraft],
        findings: Sequence[Sequence[LintFinding]],
        *,
        topic: str,
        language: str | None,
    ) -> Review:
        task = (
            f"Review these cards:\n{numbered(drafts, findings)}\n{prompts.language_rule(language, keep=True)}"
        )
        return await self._ask(Review, prompts.REVIEWER, f"{Role.REVIEWER}: {topic}", LAST, None, task)

    async def repair(self, draft: CardDraft, findings: Sequence[LintFinding], *, topic: str) -> CardDraft:
        task = f"Fix this card:\n{numbered([draft], [findings])}"
        step = f"{Role.FORMATTER}: {topic}"
        return (await self._ask(RepairedCard, prompts.FORMATTER, step, LAST, None, task)).card

    async def revise(
        self, text: str, drafts: Sequence[CardDraft], feedback: str, *, language: str | None
    ) -> Revision:
        task = (
            f"The learner's feedback: {to_json(feedback)}\nRevise these cards:\n{numbered(drafts)}\n"
            f"{prompts.language_rule(language, keep=True)}"
        )
        return await self._ask(Revision, prompts.REVISER, f"{Role.QA_GENERATOR}: feedback", EARLY, text, task)

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
            item: dict[str, object] = {"note": number, **_card_fields(note.card)}
            if not note.has_extra:
                item["no_extra"] = True
            if note.source in labels:
                item["source"] = labels[note.source]
            if found:
                item["lint"] = [f"{f.lint_id}: {f.message}" for f in found]
            lines.append(to_json(item))
        rules = [prompts.feedback_rule(feedback)] if feedback else []
        task = "\n".join(["Review these notes:", *lines, *rules, prompts.language_rule(language, keep=True)])
        return await self._ask(NoteVerdicts, prompts.REREVIEWER, step, EARLY, source, task)

    async def decide(self, state: str) -> Decision:
        task = f"The state of the work:\n{state}\nWhich agent works next?"
        return await self._ask(Decision, prompts.ORCHESTRATOR, Role.ORCHESTRATOR, FIRST, None, task)

    async def _ask(
        self, output_cls: type[T], system: str, step: str, priority: int, source: str | None, task: str
    ) -> T:
        parts = [prompts.source_message(source), task] if source is not None else [task]
        messages: list[ChatMessage] = prompts.messages(system, *parts)
        async with self.slots(priority):
            return await self.llm.structured(output_cls, messages, step=step)


_CODE = re.compile(
    r"```|`[^`\n]+`|\b[A-Za-z_][\w.]*\([^()\n]*\)|^\s*(?:def|class|import|from|function|const|let|var|"
    r"SELECT|sudo|pip|npm|git|cd|\$)\s",
    re.MULTILINE,
)


def needs_code_expert(draft: CardDraft, *, code_topic: bool) -> bool:
    """Whether the Code and Extra Field Expert should write this card's extra: its topic involves code or a
    procedure (the Topic Analyzer says so), or the card itself shows code."""
    if code_topic:
        return True
    text = f"{draft.question}\n{draft.answer}" if isinstance(draft, BasicCard) else draft.text
    return bool(_CODE.search(f"{text}\n{draft.extra}"))


_TOPIC_FIELDS = {"name", "subtopics", "key_concepts", "applications"}


def _card_fields(card: NoteCard) -> dict[str, str]:
    """An existing note's card as the agents read cards (the draft's field names)."""
    if card.kind == "cloze":
        return {"kind": "cloze", "text": card.front, "extra": card.extra}
    return {"kind": "basic", "question": card.front, "answer": card.back, "extra": card.extra}

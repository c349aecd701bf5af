"""The agents: one method per role, each a single LLM call with its own prompt (prompts.py) and output model.

An agent gets only what its role needs, never a conversation history. Cards go to the model numbered from 1,
as JSON; the edits that come back name cards by those numbers and are applied in code (`apply_edits`), so a
model can rewrite, split or drop cards but never invent which card it is talking about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from llama_index.core.llms import ChatMessage
from pydantic import BaseModel, Field

from . import prompts
from .llm import LLMClient
from .models import BasicCard, CardDraft, CardDrafts, LintFinding, Topic
from .slots import Slots

T = TypeVar("T", bound=BaseModel)

Role = Literal["Topic Analyzer", "Q&A Generator", "Code and Extra Field Expert", "Reviewer", "Formatter"]
TOPIC_ANALYZER: Role = "Topic Analyzer"
QA_GENERATOR: Role = "Q&A Generator"
CODE_EXPERT: Role = "Code and Extra Field Expert"
REVIEWER: Role = "Reviewer"
FORMATTER: Role = "Formatter"
ORCHESTRATOR = "Orchestrator"


# What the agents answer


class AnalyzedTopic(Topic):
    code: bool = Field(
        default=False, description="True when the topic involves code, commands, formulas or a procedure."
    )


class TopicAnalysis(BaseModel):
    language: str = Field(default="", description="Language of the source text, in English, e.g. 'German'.")
    topics: list[AnalyzedTopic]


class CardExtra(BaseModel):
    card: int = Field(description="Number of the card.")
    extra: str = Field(description="The card's new extra field, Markdown.")


class ExtraFields(BaseModel):
    extras: list[CardExtra]


class CardEdit(BaseModel):
    card: int = Field(description="Number of the card this edit is about.")
    action: Literal["rewrite", "split", "drop"]
    cards: list[CardDraft] = Field(
        default_factory=list, description="The new card (rewrite) or cards (split); empty for drop."
    )


class Review(BaseModel):
    edits: list[CardEdit] = Field(default_factory=list, description="Only the cards that change.")
    changes: list[str] = Field(
        default_factory=list, description="One short line per change, for the learner."
    )


class Revision(Review):
    """The Q&A Generator's answer to a learner's feedback: the same shape as a review, its own schema name."""


class RepairedCard(BaseModel):
    card: CardDraft


NextAgent = Literal[
    "Topic Analyzer", "Q&A Generator", "Code and Extra Field Expert", "Reviewer", "Formatter", "END"
]


class Decision(BaseModel):
    next_agent: NextAgent
    reason: str = ""


# Calling them


FIRST, EARLY, LAST = 0, 1, 2
"""Request priorities (`Slots`): the fewer requests still follow a request in its topic, the later it goes."""


@dataclass
class Agents:
    """The agents of one run. `slots` bounds how many requests run at once across all steps."""

    llm: LLMClient
    slots: Slots

    async def analyze(self, text: str, *, part: str = "") -> TopicAnalysis:
        task = "List the topics of the source." + (f" {part}" if part else "")
        return await self._ask(TopicAnalysis, prompts.TOPIC_ANALYZER, TOPIC_ANALYZER, FIRST, text, task)

    async def generate(
        self, text: str, topic: Topic, *, other_topics: Sequence[str], language: str | None
    ) -> list[CardDraft]:
        task = (
            f"Write flashcards for this topic:\n{_json(topic.model_dump(include=_TOPIC_FIELDS))}\n"
            f"Other topics (not yours): {_json(list(other_topics))}\n{prompts.language_rule(language)}"
        )
        step = f"{QA_GENERATOR}: {topic.name}"
        return (await self._ask(CardDrafts, prompts.QA_GENERATOR, step, EARLY, text, task)).cards

    async def enrich(self, drafts: Sequence[CardDraft], *, topic: str, language: str | None) -> ExtraFields:
        task = (
            f"Topic: {topic}\nWrite the extra field of each of these cards:\n{numbered(drafts)}\n"
            f"{prompts.language_rule(language, keep=True)}"
        )
        return await self._ask(ExtraFields, prompts.CODE_EXPERT, f"{CODE_EXPERT}: {topic}", EARLY, None, task)

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
        return await self._ask(Review, prompts.REVIEWER, f"{REVIEWER}: {topic}", LAST, None, task)

    async def repair(self, draft: CardDraft, findings: Sequence[LintFinding], *, topic: str) -> CardDraft:
        task = f"Fix this card:\n{numbered([draft], [findings])}"
        step = f"{FORMATTER}: {topic}"
        return (await self._ask(RepairedCard, prompts.FORMATTER, step, LAST, None, task)).card

    async def revise(
        self, text: str, drafts: Sequence[CardDraft], feedback: str, *, language: str | None
    ) -> Revision:
        task = (
            f"The learner's feedback: {_json(feedback)}\nRevise these cards:\n{numbered(drafts)}\n"
            f"{prompts.language_rule(language, keep=True)}"
        )
        return await self._ask(Revision, prompts.REVISER, f"{QA_GENERATOR}: feedback", EARLY, text, task)

    async def decide(self, state: str) -> Decision:
        task = f"The state of the work:\n{state}\nWhich agent works next?"
        return await self._ask(Decision, prompts.ORCHESTRATOR, ORCHESTRATOR, FIRST, None, task)

    async def _ask(
        self, output_cls: type[T], system: str, step: str, priority: int, source: str | None, task: str
    ) -> T:
        parts = [prompts.source_message(source), task] if source is not None else [task]
        messages: list[ChatMessage] = prompts.messages(system, *parts)
        async with self.slots(priority):
            return await self.llm.structured(output_cls, messages, step=step)


# Cards in prompts, edits back onto cards


def numbered(drafts: Sequence[CardDraft], findings: Sequence[Sequence[LintFinding]] | None = None) -> str:
    """One JSON object per line: the card's number, its fields, and its lint findings if given."""
    lines = []
    for number, draft in enumerate(drafts, start=1):
        item: dict[str, object] = {"card": number, **draft.model_dump(exclude={"tags"})}
        if findings is not None and findings[number - 1]:
            item["lint"] = [f"{f.lint_id}: {f.message}" for f in findings[number - 1]]
        lines.append(_json(item))
    return "\n".join(lines)


def apply_edits(count: int, edits: Sequence[CardEdit]) -> list[tuple[int, CardDraft | None]]:
    """The cards after the edits, as (original index, new draft or None for "unchanged"), in original order.

    Edits naming no card of the batch, or a second edit of the same card, are ignored; a rewrite or split
    without cards keeps the card.
    """
    by_card: dict[int, CardEdit] = {}
    for edit in edits:
        if 1 <= edit.card <= count and edit.card not in by_card:
            by_card[edit.card] = edit
    result: list[tuple[int, CardDraft | None]] = []
    for index in range(count):
        edit = by_card.get(index + 1)
        if edit is None or (edit.action != "drop" and not edit.cards):
            result.append((index, None))
        elif edit.action != "drop":
            result += [(index, draft) for draft in edit.cards]
    return result


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


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)

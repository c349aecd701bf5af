"""The pipeline's vocabulary: what goes in, what agents exchange, what comes out.

Every model that an LLM fills in is defined here (the agents' replies at the end) and validated; nothing
downstream trusts raw LLM text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from .roles import NEXT_STEPS
from .settings import Mode


class Source(BaseModel):
    """A piece of text to make cards from: pasted text or one Anki note."""

    text: str
    title: str = ""
    language: str | None = None
    note_id: int | None = None


class Topic(BaseModel):
    name: str
    subtopics: list[str] = Field(default_factory=list)
    key_concepts: list[str] = Field(default_factory=list)
    applications: list[str] = Field(default_factory=list)


class Outline(BaseModel):
    """What the Topic Analyzer finds in a text."""

    language: str = Field(default="", description="Language of the source text, e.g. 'English'.")
    topics: list[Topic]


class BasicCard(BaseModel):
    kind: Literal["basic"] = "basic"
    question: str
    answer: str
    extra: str = ""
    tags: list[str] = Field(default_factory=list)


class ClozeCard(BaseModel):
    kind: Literal["cloze"] = "cloze"
    text: str = Field(description="Text with {{c1::...}} deletions.")
    extra: str = ""
    tags: list[str] = Field(default_factory=list)


CardDraft = Annotated[BasicCard | ClozeCard, Field(discriminator="kind")]


class CardDrafts(BaseModel):
    """The shape agents return cards in."""

    cards: list[CardDraft]


class LintFinding(BaseModel):
    lint_id: str
    message: str
    field: str | None = None


class Provenance(BaseModel):
    """Where a card came from and which agents touched it."""

    topic: str = ""
    chunk: int | None = None
    source_note_id: int | None = None
    agents: list[str] = Field(default_factory=list)


class Card(BaseModel):
    """A card in a run's result: the draft, its rendered fields and what the lints found."""

    model_config = ConfigDict(validate_assignment=True)

    id: str
    draft: CardDraft
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Sanitized HTML per note field (Front/Back/Extra or Text/Extra), set by the Formatter.",
    )
    lints: list[LintFinding] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    replaces: str | None = Field(
        default=None, description="In a regeneration's result: the id of the card this one replaces."
    )


class Usage(BaseModel):
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost_usd: float | None = None

    def describe(self) -> str:
        """One line for people, e.g. "12 requests, 15,571 + 6,725 tokens, $0.0042"."""
        text = f"{self.requests} requests, {self.prompt_tokens:,} + {self.completion_tokens:,} tokens"
        return text if self.cost_usd is None else f"{text}, ${self.cost_usd:.4f}"


class StepError(BaseModel):
    step: str
    message: str


class RunResult(BaseModel):
    mode: Mode = "planned"
    outline: Outline | None = None
    cards: list[Card] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    errors: list[StepError] = Field(default_factory=list)
    cancelled: bool = False


# What the agents reply


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


def _next_step(value: str) -> str:
    if value not in NEXT_STEPS:
        raise ValueError(f"must be one of {', '.join(NEXT_STEPS)}")
    return value


NextStep = Annotated[
    str, AfterValidator(_next_step), WithJsonSchema({"type": "string", "enum": list(NEXT_STEPS)})
]


class Decision(BaseModel):
    next_agent: NextStep
    reason: str = ""

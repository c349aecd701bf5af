"""The pipeline's vocabulary: what goes in, what agents exchange, what comes out.

Every model that an LLM fills in is validated here; nothing downstream trusts raw LLM text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    mode: Literal["planned", "orchestrator"] = "planned"
    outline: Outline | None = None
    cards: list[Card] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    errors: list[StepError] = Field(default_factory=list)
    cancelled: bool = False

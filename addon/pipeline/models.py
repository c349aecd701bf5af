"""The pipeline's vocabulary: what goes in, what agents exchange, what comes out.

Every model that an LLM fills in is defined here (the agents' replies at the end) and validated; nothing
downstream trusts raw LLM text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from .roles import NEXT_STEPS
from .settings import Mode

# Bounds on what a model writes (README, "Reliability"), in the JSON schema the model gets. A text beyond its
# bound makes the reply invalid, and it is asked for again saying what is too long; a list beyond its bound
# is cut to it, the first items kept, since a reply with many good items should not be thrown away. Roomy
# for good cards, small enough that no reply can flood the pipeline or the learner's collection.
MAX_NAME = 200
"""A topic's name, a language."""
MAX_ITEM = 300
"""One subtopic, key concept, application, tag or line of changes."""
MAX_TEXT = 1_000
"""A question, an answer, the Orchestrator's reason."""
MAX_CLOZE = 2_000
"""A cloze card's text."""
MAX_EXTRA = 6_000
"""An Extra field: explanations and a code example."""
MAX_LIST = 30
"""Subtopics, key concepts, applications, tags of one card."""
MAX_TOPICS = 40
"""Topics in one analysis."""
MAX_CARDS = 50
"""Cards in one reply."""
MAX_SPLIT = 10
"""Cards one card may be rewritten or split into."""
MAX_EDITS = 100
"""Edits, extras or lines of changes in one reply."""

Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
Item = Annotated[str, StringConstraints(max_length=MAX_ITEM)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
ClozeText = Annotated[str, StringConstraints(max_length=MAX_CLOZE)]
Extra = Annotated[str, StringConstraints(max_length=MAX_EXTRA)]


def _cut(limit: int) -> BeforeValidator:
    """A list beyond `limit` items is cut to it, the first items kept."""
    return BeforeValidator(lambda value: value[:limit] if isinstance(value, list) else value)


Items = Annotated[list[Item], _cut(MAX_LIST), Field(max_length=MAX_LIST)]


class Source(BaseModel):
    """A piece of text to make cards from: pasted text or one Anki note."""

    text: str
    title: str = ""
    language: str | None = None
    note_id: int | None = None


class Topic(BaseModel):
    name: Name
    subtopics: Items = Field(default_factory=list)
    key_concepts: Items = Field(default_factory=list)
    applications: Items = Field(default_factory=list)


class Outline(BaseModel):
    """What the Topic Analyzer finds in a text."""

    language: str = Field(default="", description="Language of the source text, e.g. 'English'.")
    topics: list[Topic]


class BasicCard(BaseModel):
    kind: Literal["basic"] = "basic"
    question: Text
    answer: Text
    extra: Extra = ""
    tags: Items = Field(default_factory=list)


class ClozeCard(BaseModel):
    kind: Literal["cloze"] = "cloze"
    text: ClozeText = Field(description="Text with {{c1::...}} deletions.")
    extra: Extra = ""
    tags: Items = Field(default_factory=list)


CardDraft = Annotated[BasicCard | ClozeCard, Field(discriminator="kind")]
Drafts = Annotated[list[CardDraft], _cut(MAX_CARDS), Field(max_length=MAX_CARDS)]
Split = Annotated[list[CardDraft], _cut(MAX_SPLIT), Field(max_length=MAX_SPLIT)]


class CardDrafts(BaseModel):
    """The shape agents return cards in."""

    cards: Drafts


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
    language: Name = Field(default="", description="Language of the source text, in English, e.g. 'German'.")
    topics: Annotated[list[AnalyzedTopic], _cut(MAX_TOPICS), Field(max_length=MAX_TOPICS)]


class CardExtra(BaseModel):
    card: int = Field(description="Number of the card.")
    extra: Extra = Field(description="The card's new extra field, Markdown.")


class ExtraFields(BaseModel):
    extras: Annotated[list[CardExtra], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)]


class CardEdit(BaseModel):
    card: int = Field(description="Number of the card this edit is about.")
    action: Literal["rewrite", "split", "drop"]
    cards: Split = Field(
        default_factory=list, description="The new card (rewrite) or cards (split); empty for drop."
    )


class Review(BaseModel):
    edits: Annotated[list[CardEdit], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)] = Field(
        default_factory=list, description="Only the cards that change."
    )
    changes: Annotated[list[Item], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)] = Field(
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
    reason: Text = ""


# Re-reviewing existing notes: what goes in, what comes out, what the Reviewer replies

Action = Literal["keep", "rewrite", "split", "flag"]
"""keep: fine as it is; rewrite: new field values, same note; split: several new notes instead (the
original is kept, tagged); flag: a problem the learner should decide on (ambiguous, doubtful, trivial)."""
FlagReason = Literal["ambiguous", "doubtful", "trivial", "other"]


class NoteCard(BaseModel):
    """A card's text as a learner wrote it (Markdown): its kind and fields in one flat shape, not bounded
    (bounds are for what models write). `front` is the question or the cloze text."""

    kind: Literal["basic", "cloze"]
    front: str
    back: str = ""
    extra: str = ""

    @classmethod
    def of(cls, draft: CardDraft) -> NoteCard:
        if isinstance(draft, ClozeCard):
            return cls(kind="cloze", front=draft.text, extra=draft.extra)
        return cls(kind="basic", front=draft.question, back=draft.answer, extra=draft.extra)

    def draft(self) -> CardDraft:
        """The card as a draft, for the lints and the Formatter (built without a model's bounds)."""
        if self.kind == "cloze":
            return ClozeCard.model_construct(text=self.front, extra=self.extra, tags=[])
        return BasicCard.model_construct(question=self.front, answer=self.back, extra=self.extra, tags=[])


class ExistingNote(BaseModel):
    """A note already in the collection, to review: its card from its mapped fields, and the text it was
    generated from when this add-on made it."""

    note_id: int
    card: NoteCard
    has_extra: bool = True
    """Whether the note has a field for the extra; if not, a suggestion's extra is not written anywhere."""
    source: str = ""
    source_id: int | None = None
    """The note the source text is from: notes sharing a source are reviewed together, their source once."""


class Verdict(BaseModel):
    """What the review suggests for one note, and why: the Reviewer's reasons, the note's lint findings."""

    note_id: int
    action: Action = "keep"
    reasons: list[str] = Field(default_factory=list)
    flag: FlagReason | None = None
    cards: list[Card] = Field(
        default_factory=list, description="The suggested card (rewrite) or cards (split), formatted."
    )
    lints: list[LintFinding] = Field(default_factory=list, description="What the lints find in the note.")
    feedback: str = ""
    """The learner's feedback this verdict answers ("ask again")."""


class ReviewResult(BaseModel):
    verdicts: list[Verdict] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    errors: list[StepError] = Field(default_factory=list)
    cancelled: bool = False


class NoteVerdict(BaseModel):
    note: int = Field(description="Number of the note this verdict is about.")
    verdict: Literal["rewrite", "split", "flag"]
    reasons: Annotated[list[Item], _cut(MAX_LIST), Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Why, one short line each, for the learner."
    )
    flag: FlagReason | None = Field(default=None, description="For a flag: what is wrong.")
    cards: Split = Field(
        default_factory=list, description="The new card (rewrite) or cards (split); empty for a flag."
    )


class NoteVerdicts(BaseModel):
    """The Reviewer's verdicts on existing notes; notes it does not list are kept as they are."""

    verdicts: Annotated[list[NoteVerdict], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)] = Field(
        default_factory=list
    )

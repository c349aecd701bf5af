"""The pipeline's vocabulary: what goes in, what agents exchange, what comes out.

Every model that an LLM fills in is defined here (the agents' replies at the end) and validated; nothing
downstream trusts raw LLM text.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    create_model,
    model_validator,
)

from .roles import NEXT_STEPS
from .settings import Mode
from .wording import count_of

# Bounds on what a model writes (README, "Reliability"), in the JSON schema the model gets. A text beyond its
# bound makes the reply invalid, and it is asked for again saying what is too long; a list beyond its bound
# is cut to it, the first items kept, since a reply with many good items should not be thrown away. Roomy
# for good cards, small enough that no reply can flood the pipeline or the learner's collection.
MAX_NAME = 200
"""A topic's name, a language."""
MAX_ITEM = 300
"""A topic's key point or connection, a tag, a line of changes, a key idea the judge lists."""
MAX_TEXT = 1_000
"""A question, an answer, the Orchestrator's reason, the judge's comment on a card."""
MAX_CLOZE = 2_000
"""A cloze card's text."""
MAX_EXTRA = 6_000
"""An Extra field: explanations and a code example."""
MAX_LIST = 30
"""Key points, connections of one topic; tags of one card; key ideas one card teaches."""
MAX_TOPICS = 40
"""Topics in one analysis; key ideas the judge lists."""
MAX_CARDS = 50
"""Cards in one reply, and verdicts in one judge's reply."""
MAX_SPLIT = 10
"""Cards one card may be rewritten or split into."""
MAX_EDITS = 100
"""Edits, extras or lines of changes in one reply."""
MAX_DEFECTS = 8
"""Defect letters on one card: there are eight."""

Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
Item = Annotated[str, StringConstraints(max_length=MAX_ITEM)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
ClozeText = Annotated[str, StringConstraints(max_length=MAX_CLOZE)]
Extra = Annotated[str, StringConstraints(max_length=MAX_EXTRA)]


def _cut(limit: int) -> BeforeValidator:
    """A list beyond `limit` items is cut to it, the first items kept."""
    return BeforeValidator(lambda value: value[:limit] if isinstance(value, list) else value)


Items = Annotated[list[Item], _cut(MAX_LIST), Field(max_length=MAX_LIST)]

Importance = Annotated[
    int,
    AfterValidator(lambda value: min(max(value, 1), 3)),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 3}),
]
"""1 to 3; a reply outside the range is clamped rather than refused."""


class Source(BaseModel):
    """A piece of text to make cards from: pasted text or one Anki note."""

    text: str
    title: str = ""
    language: str | None = None
    note_id: int | None = None


class Topic(BaseModel):
    """A topic of the text, as the Topic Analyzer ranked it."""

    name: Name
    importance: Importance = Field(
        default=2, description="3: a central idea of the text; 2: a useful detail; 1: minor."
    )
    key_points: Items = Field(
        default_factory=list,
        description="What a learner should still know in six months, most important first; one idea each.",
    )
    connections: Items = Field(
        default_factory=list,
        description="Ideas that tie facts together, where the text supports them: a contrast between two "
        "easily confused ideas, a why, a trade-off, the idea applied to the text's own example.",
    )


class Outline(BaseModel):
    """What the Topic Analyzer finds in a text."""

    language: str = Field(default="", description="Language of the source text, e.g. 'English'.")
    topics: list[Topic]


class BasicCard(BaseModel):
    """A question and its answer. `tags` are added to the note; agents do not write them."""

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
"""A card as the pipeline keeps it; agents write and read cards as `WrittenCard`s (agents/edits.py)."""


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
        tokens = f"{self.prompt_tokens:,} + {self.completion_tokens:,} tokens"
        text = f"{count_of(self.requests, 'request')}, {tokens}"
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
#
# Small models follow flat schemas best: no oneOf, every field required in the schema (so a grammar-
# constrained decoder always writes it), while validation still accepts a reply that leaves out a field
# that has a default.


def _reply_schema(schema: dict[str, Any]) -> None:
    schema["required"] = list(schema.get("properties", {}))
    for value in schema.get("properties", {}).values():
        value.pop("title", None)


class Reply(BaseModel):
    """Base of the models an LLM fills in."""

    model_config = ConfigDict(json_schema_extra=_reply_schema)


class AnalyzedTopic(Topic, Reply):
    code: bool = Field(
        default=False,
        description="True only when the source shows a code block or a command for this topic. Names in "
        "backticks, a procedure or a formula told in words are not code.",
    )


class TopicAnalysis(Reply):
    language: Name = Field(default="", description="Language of the source text, in English, e.g. 'German'.")
    topics: Annotated[list[AnalyzedTopic], _cut(MAX_TOPICS), Field(max_length=MAX_TOPICS)] = Field(
        description="Most important first."
    )


class WrittenCard(Reply):
    """A card as the agents write and read it: one flat shape for both kinds."""

    kind: Literal["basic", "cloze"] = Field(
        description='"basic": a question and its answer; "cloze": a statement with {{c1::...}} deletions.'
    )
    front: ClozeText = Field(description="basic: the question. cloze: the statement with its deletions.")
    back: Text = Field(default="", description="basic: the answer. cloze: empty.")
    extra: Extra = Field(
        default="",
        description="Read after answering: empty, or one why or one pitfall in at most two sentences (40 "
        "words), plus a code example of at most 8 lines only where the source shows code for it. Markdown.",
    )

    @model_validator(mode="after")
    def _question_bound(self) -> WrittenCard:
        """A front becomes a cloze text only as a cloze without a back (agents/edits.py `to_draft`); else it
        is a question, with a question's bound."""
        if len(self.front) > MAX_TEXT and (self.kind == "basic" or self.back.strip()):
            raise ValueError(
                f"front: a question has at most {MAX_TEXT:,} characters ({MAX_CLOZE:,} for a cloze)"
            )
        return self


class GeneratedCard(WrittenCard):
    topic: int = Field(default=1, description="Number of the topic the card belongs to.")


class CardDrafts(Reply):
    """The Q&A Generator's cards for a batch of topics, each naming its topic by number."""

    cards: Annotated[list[GeneratedCard], _cut(MAX_CARDS), Field(max_length=MAX_CARDS)]


class CardExtra(Reply):
    card: int = Field(description="Number of the card.")
    extra: Extra = Field(description='The card\'s new extra field, Markdown; "" keeps the current one.')


class ExtraFields(Reply):
    extras: Annotated[list[CardExtra], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)]


class CardEdit(Reply):
    card: int = Field(description="Number of the card this edit is about.")
    action: Literal["rewrite", "split", "drop"]
    cards: Annotated[list[WrittenCard], _cut(MAX_SPLIT), Field(max_length=MAX_SPLIT)] = Field(
        default_factory=list, description="The new card (rewrite) or cards (split); empty for drop."
    )


class Review(Reply):
    edits: Annotated[list[CardEdit], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)] = Field(
        default_factory=list, description="Only the cards that change."
    )
    changes: Annotated[list[Item], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)] = Field(
        default_factory=list, description="One short line per change, for the learner."
    )


class Revision(Review):
    """The Q&A Generator's answer to a learner's feedback: the same shape as a review, its own schema name."""


class RepairedCard(Reply):
    card: WrittenCard


def _next_step(value: str) -> str:
    if value not in NEXT_STEPS:
        raise ValueError(f"must be one of {', '.join(NEXT_STEPS)}")
    return value


NextStep = Annotated[
    str, AfterValidator(_next_step), WithJsonSchema({"type": "string", "enum": list(NEXT_STEPS)})
]


class Decision(Reply):
    reason: Text = Field(default="", description="Why, in one short sentence.")
    next_agent: NextStep


@cache
def decision_offering(choices: tuple[str, ...]) -> type[Decision]:
    """A Decision whose schema offers only `choices` (the steps that can run now); one class per set."""
    offered = Annotated[
        str, AfterValidator(_next_step), WithJsonSchema({"type": "string", "enum": list(choices)})
    ]
    return create_model("Decision", __base__=Decision, next_agent=(offered, ...))


# What the judge of `python -m addon.cli eval` replies

Verdict = Literal["usable", "polish", "rework", "unusable"]
"""Kirkby & Matuschak's four classes: usable as is, light polish, substantial rework, unusable."""
Defect = Literal["F", "A", "M", "L", "T", "D", "X", "E"]


class KeyIdea(Reply):
    idea: Item = Field(description="One idea, in one line.")
    integrating: bool = Field(
        description="True for a contrast between similar ideas, a why, a trade-off or an application; false "
        "for a plain fact."
    )


class KeyIdeas(Reply):
    ideas: Annotated[list[KeyIdea], _cut(MAX_TOPICS), Field(max_length=MAX_TOPICS)] = Field(
        description="Most important first."
    )


class CardVerdict(Reply):
    card: int = Field(description="Number of the card.")
    comment: Text = Field(default="", description="What is wrong, in a few words; empty for a good card.")
    defects: Annotated[list[Defect], _cut(MAX_DEFECTS), Field(max_length=MAX_DEFECTS)] = Field(
        default_factory=list
    )
    verdict: Verdict
    ideas: Annotated[list[int], _cut(MAX_LIST), Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Numbers of the key ideas the card teaches."
    )


class Verdicts(Reply):
    cards: Annotated[list[CardVerdict], _cut(MAX_CARDS), Field(max_length=MAX_CARDS)]


# Re-reviewing existing notes: what goes in, what comes out, what the Reviewer replies

Action = Literal["keep", "rewrite", "split", "flag"]
"""keep: fine as it is; rewrite: new field values, same note; split: several new notes instead (the
original is kept, tagged); flag: a problem the learner should decide on (ambiguous, doubtful, trivial)."""
FlagReason = Literal["ambiguous", "doubtful", "trivial", "other"]
Flag = Literal["", "ambiguous", "doubtful", "trivial", "other"]
"""A flag's reason as the Reviewer writes it ("" for a rewrite or a split)."""


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


class ReviewVerdict(BaseModel):
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
    verdicts: list[ReviewVerdict] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    errors: list[StepError] = Field(default_factory=list)
    cancelled: bool = False


class NoteVerdict(Reply):
    note: int = Field(description="Number of the note.")
    verdict: Literal["rewrite", "split", "flag"]
    reasons: Items = Field(default_factory=list, description="Why, one short line each, for the learner.")
    flag: Flag = Field(default="", description='For a flag, what is wrong; "" otherwise.')
    cards: Annotated[list[WrittenCard], _cut(MAX_SPLIT), Field(max_length=MAX_SPLIT)] = Field(
        default_factory=list, description="The new card (rewrite) or cards (split); empty for a flag."
    )


class NoteVerdicts(Reply):
    """The Reviewer's verdicts on existing notes; notes it does not list are kept as they are."""

    verdicts: Annotated[list[NoteVerdict], _cut(MAX_EDITS), Field(max_length=MAX_EDITS)] = Field(
        default_factory=list
    )

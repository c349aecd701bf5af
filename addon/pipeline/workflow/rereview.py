"""The re-review route: a learner's existing notes in, a verdict for each out (keep, rewrite, split or flag,
with reasons), reusing the generation's Reviewer, Code and Extra Field Expert, Formatter and lints.

    begin ─▶ review (∥ batches of notes: lints, then the Reviewer) ─▶ [enrich: notes that show code]
          ─▶ format (+ repair of broken cards only) ─▶ finish

Notes go to the Reviewer in batches (at most `NOTES_PER_BATCH`, and a share of the context window), notes
made from the same source together so that the source is sent once. Each batch is finished as soon as its
cards are formatted, and streamed as `VerdictsReady`. However the run ends (done, Stop, the time limit, a
failed step), the result holds every verdict made: batches reviewed but not formatted yet are formatted
without the LLM; batches not reviewed have no verdict (their notes can be reviewed again later).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from workflows import Context, Workflow, step
from workflows.events import StopEvent

from ..agents.edits import to_draft
from ..agents.team import Agents
from ..cards.anki_markup import MarkupPolicy
from ..cards.formatting import format_card, format_cards, lint_drafts, render_failed
from ..cards.in_place import why_not_in_place
from ..cards.lints import needs_repair
from ..errors import PipelineError
from ..llm.usage import UsageMeter
from ..models import (
    Card,
    CardDraft,
    ExistingNote,
    LintFinding,
    NoteCard,
    NoteVerdict,
    NoteVerdicts,
    Provenance,
    ReviewResult,
    ReviewVerdict,
    StepError,
)
from ..roles import Role
from ..settings import PipelineSettings
from ..wording import count_of
from .events import ProgressEvent
from .review_events import (
    BatchDone,
    BatchEvent,
    EnrichVerdicts,
    FormatVerdicts,
    ReviewBatch,
    ReviewStart,
    VerdictsReady,
)
from .runner import BackgroundRun, Listener, OnEvent, OnHandler, drive
from .stages import touched
from .state import Steps

P = TypeVar("P", bound=ProgressEvent)
T = TypeVar("T")

NOTES_PER_BATCH = 10
"""The most notes one Reviewer request carries: enough to cut requests tenfold, few enough for a small
model to give each note its attention."""
PROMPT_SHARE = 0.4
"""The share of the context window a batch's notes and sources may fill; the rest is for the instructions
and the reply."""
CHARS_PER_TOKEN = 4
MAX_REASONS = 10
MAX_REASON_CHARS = 300
WORKERS = 32


def plan_batches(notes: Sequence[ExistingNote], context_window: int) -> list[ReviewBatch]:
    """The notes in batches, in their order except that notes made from the same source go together."""
    budget = int(context_window * PROMPT_SHARE * CHARS_PER_TOKEN)
    groups: dict[object, list[ExistingNote]] = {}
    for note in notes:
        groups.setdefault(note.source or ("own", note.note_id), []).append(note)
    batches: list[ReviewBatch] = []
    current: list[ExistingNote] = []
    size = 0
    for group in groups.values():
        for note in group:
            cost = _size(note) + (len(note.source) if note.source and not _has_source(current, note) else 0)
            if current and (len(current) >= NOTES_PER_BATCH or size + cost > budget):
                batches.append(_batch(len(batches), current, batches))
                current, size = [], 0
                cost = _size(note) + len(note.source)
            current.append(note)
            size += cost
    if current:
        batches.append(_batch(len(batches), current, batches))
    return batches


def _size(note: ExistingNote) -> int:
    card = note.card
    return len(card.front) + len(card.back) + len(card.extra) + 60


def _has_source(notes: Iterable[ExistingNote], note: ExistingNote) -> bool:
    return any(other.source == note.source for other in notes)


def _batch(index: int, notes: list[ExistingNote], earlier: Sequence[ReviewBatch]) -> ReviewBatch:
    first = sum(len(batch.notes) for batch in earlier) + 1
    sources = list(dict.fromkeys(note.source for note in notes if note.source))
    return ReviewBatch(index=index, first=first, notes=notes, sources=sources)


# From the Reviewer's reply to verdicts


def verdicts_of(
    batch: ReviewBatch, reply: NoteVerdicts, findings: Sequence[Sequence[LintFinding]]
) -> list[ReviewVerdict]:
    """One verdict per note of the batch: the Reviewer's, made consistent, else keep. Verdicts naming no
    note of the batch, or a note named twice, are ignored."""
    by_number: dict[int, NoteVerdict] = {}
    for verdict in reply.verdicts:
        if 1 <= verdict.note <= len(batch.notes):
            by_number.setdefault(verdict.note, verdict)
    return [
        _consistent(note, by_number.get(number), list(findings[number - 1]))
        for number, note in enumerate(batch.notes, start=1)
    ]


def _consistent(note: ExistingNote, said: NoteVerdict | None, lints: list[LintFinding]) -> ReviewVerdict:
    if said is None:
        return ReviewVerdict(note_id=note.note_id, lints=lints)
    reasons = [" ".join(r.split())[:MAX_REASON_CHARS] for r in said.reasons if r.strip()][:MAX_REASONS]
    drafts = [to_draft(card) for card in said.cards]
    if said.verdict == "flag" or not drafts:
        if said.verdict != "flag":
            reasons.append("The Reviewer suggested a change but gave no card: check this note yourself.")
        return ReviewVerdict(
            note_id=note.note_id, action="flag", flag=said.flag or "other", reasons=reasons, lints=lints
        )
    return suggested(note, drafts, reasons, lints)


def suggested(
    note: ExistingNote, drafts: Sequence[CardDraft], reasons: list[str], lints: list[LintFinding]
) -> ReviewVerdict:
    """A rewrite (one card that can replace the note's in place) or a split (several cards, or one of another
    kind or with other cloze numbers); keep when the one card is the note as it is."""
    cards = [_card(note, number, draft) for number, draft in enumerate(drafts)]
    why = _why_new_note(note, drafts[0]) if len(cards) == 1 else ""
    if why:
        reasons = [*reasons, f"{why}, so it is added as a new note; the original is kept."]
    if len(cards) > 1 or why:
        return ReviewVerdict(note_id=note.note_id, action="split", reasons=reasons, cards=cards, lints=lints)
    if not note.has_extra:
        cards = [cards[0].model_copy(update={"draft": cards[0].draft.model_copy(update={"extra": ""})})]
    if _same(NoteCard.of(cards[0].draft), note.card):
        return ReviewVerdict(note_id=note.note_id, reasons=reasons, lints=lints)
    return ReviewVerdict(note_id=note.note_id, action="rewrite", reasons=reasons, cards=cards, lints=lints)


def _why_new_note(note: ExistingNote, draft: CardDraft) -> str:
    return why_not_in_place(NoteCard.of(draft), note.card.kind, note.card.front)


def _card(note: ExistingNote, number: int, draft: CardDraft) -> Card:
    provenance = Provenance(source_note_id=note.source_id, agents=[Role.REVIEWER])
    return Card(id=f"{note.note_id}-{number + 1}", draft=draft, provenance=provenance)


def _same(a: NoteCard, b: NoteCard) -> bool:
    return all(
        getattr(a, key).split() == getattr(b, key).split() for key in ("kind", "front", "back", "extra")
    )


def markup_of(note: ExistingNote, settings: PipelineSettings) -> MarkupPolicy:
    """What a suggestion for this note may keep of math and media: what the note and its source have."""
    card = note.card
    return MarkupPolicy.for_sources([card.front, card.back, card.extra, note.source], settings.math)


def formatted(note: ExistingNote, verdict: ReviewVerdict, markup: MarkupPolicy) -> ReviewVerdict:
    """The verdict with its cards formatted without the LLM; a card that still cannot be rendered makes the
    verdict a flag (the note stays as it is)."""
    return checked(
        note, verdict, [touched(card, Role.FORMATTER) for card in format_cards(verdict.cards, markup)]
    )


def checked(note: ExistingNote, verdict: ReviewVerdict, cards: list[Card]) -> ReviewVerdict:
    if any(render_failed(card) for card in cards):
        reason = "The suggested card could not be made valid; check this note yourself."
        return verdict.model_copy(
            update={"action": "flag", "flag": "other", "cards": [], "reasons": [*verdict.reasons, reason]}
        )
    if verdict.action == "rewrite" and _why_new_note(note, cards[0].draft):  # a repair, or renumbering
        return suggested(note, [cards[0].draft], verdict.reasons, verdict.lints).model_copy(
            update={"cards": cards}
        )
    return verdict.model_copy(update={"cards": cards})


# What the run has done so far


class ReviewRecord(Steps):
    """A review's verdicts per batch, written by its steps as they go (`pending` once the Reviewer has
    spoken, `finish` once the cards are formatted), and its errors. `result` formats what is pending."""

    def __init__(self, usage: UsageMeter, total: int, markup: Callable[[ExistingNote], MarkupPolicy]) -> None:
        self.usage = usage
        self.total = total
        self.markup = markup
        self.errors: list[StepError] = []
        self._pending: dict[int, tuple[ReviewBatch, list[ReviewVerdict]]] = {}
        self._finished: dict[int, list[ReviewVerdict]] = {}
        self._ready: list[int] = []

    @property
    def reviewed(self) -> int:
        return sum(map(len, self._finished.values()))

    def pending(self, batch: ReviewBatch, verdicts: list[ReviewVerdict]) -> None:
        self._pending[batch.index] = (batch, verdicts)

    def finish(self, batch: ReviewBatch, verdicts: list[ReviewVerdict]) -> None:
        self._pending.pop(batch.index, None)
        self._finished[batch.index] = verdicts
        self._ready.append(batch.index)

    def result(self, *, cancelled: bool = False) -> ReviewResult:
        for batch, verdicts in list(self._pending.values()):
            notes = batch.notes
            self.finish(
                batch, [formatted(n, v, self.markup(n)) for n, v in zip(notes, verdicts, strict=True)]
            )
        return ReviewResult(
            verdicts=[verdict for index in sorted(self._finished) for verdict in self._finished[index]],
            usage=self.usage.snapshot(),
            errors=list(self.errors),
            cancelled=cancelled,
        )

    def unsent(self, sent: Mapping[int, Sequence[ReviewVerdict]]) -> list[VerdictsReady]:
        """A `VerdictsReady` for each finished batch the listener did not get as it is."""
        finished = self._finished.items()
        return [self._verdicts_ready(index) for index, verdicts in finished if sent.get(index) != verdicts]

    def _progress(self, kind: type[P], role: str, topic: str, **details: Any) -> P:
        return kind(
            role=role,
            topic=topic,
            topics_done=self.reviewed,
            topics_total=self.total,
            counted=f"{self.reviewed} of {count_of(self.total, 'note')} reviewed",
            usage=self.usage.snapshot(),
            **details,
        )

    def _stream_ready(self, ctx: Context) -> None:
        ready, self._ready = self._ready, []
        for index in dict.fromkeys(ready):
            ctx.write_event_to_stream(self._verdicts_ready(index))

    def _verdicts_ready(self, index: int) -> VerdictsReady:
        return self._progress(VerdictsReady, Role.FORMATTER, "", batch=index, verdicts=self._finished[index])


# The workflow


class RereviewWorkflow(Workflow):
    def __init__(
        self, settings: PipelineSettings, agents: Agents, record: ReviewRecord, **kwargs: Any
    ) -> None:
        super().__init__(timeout=settings.run_timeout, **kwargs)
        self.settings = settings
        self.agents = agents
        self.record = record
        self._feedback = ""
        self._cpu = asyncio.Semaphore(1)

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Linting and formatting in a worker thread, one batch at a time: they are Python work that holds the
        GIL, so running several at once is no faster, and each more thread competing for the GIL makes the
        main thread wait longer for it (a stalled window)."""
        async with self._cpu:
            return await asyncio.to_thread(work, *args)

    @step
    async def begin(self, ev: ReviewStart) -> list[BatchEvent] | StopEvent:
        self._feedback = ev.feedback
        batches = plan_batches(ev.notes, self.settings.llm.context_window)
        if not batches:
            return StopEvent(result=self.record.result())
        return [BatchEvent(batch=batch) for batch in batches]

    @step(num_workers=WORKERS)
    async def review(self, ctx: Context, ev: BatchEvent) -> EnrichVerdicts | FormatVerdicts | BatchDone:
        batch = ev.batch
        verdicts = await self.record.step(ctx, Role.REVIEWER, batch.label, lambda: self._review(batch))
        if verdicts is None:
            return BatchDone(batch=batch)
        self.record.pending(batch, verdicts)
        if any(_needs_expert(note, verdict) for note, verdict in zip(batch.notes, verdicts, strict=True)):
            return EnrichVerdicts(batch=batch, verdicts=verdicts)
        return FormatVerdicts(batch=batch, verdicts=verdicts)

    async def _review(self, batch: ReviewBatch) -> list[ReviewVerdict]:
        findings = await self._in_thread(lint_drafts, [note.card.draft() for note in batch.notes])
        reply = await self.agents.rereview(
            batch.notes,
            findings,
            sources=batch.sources,
            feedback=self._feedback,
            step=f"{Role.REVIEWER}: {batch.label}",
            language=self.settings.target_language,
        )
        verdicts = verdicts_of(batch, reply, findings)
        if self._feedback:
            verdicts = [v.model_copy(update={"feedback": self._feedback}) for v in verdicts]
        return verdicts

    @step(num_workers=WORKERS)
    async def enrich(self, ctx: Context, ev: EnrichVerdicts) -> FormatVerdicts:
        enriched = await self.record.step(
            ctx, Role.CODE_EXPERT, ev.batch.label, lambda: self._enrich(ev.batch, ev.verdicts)
        )
        if enriched is not None:
            self.record.pending(ev.batch, enriched)
        return FormatVerdicts(batch=ev.batch, verdicts=enriched or ev.verdicts)

    async def _enrich(self, batch: ReviewBatch, verdicts: list[ReviewVerdict]) -> list[ReviewVerdict]:
        """The Code and Extra Field Expert writes the extra of the suggested cards that show code."""
        pairs = enumerate(zip(batch.notes, verdicts, strict=True))
        about_code = [number for number, (note, verdict) in pairs if _needs_expert(note, verdict)]
        picked = [(v, c) for v in about_code for c in range(len(verdicts[v].cards))]
        answer = await self.agents.enrich(
            _code_source([batch.notes[v] for v in about_code]),
            [verdicts[v].cards[c].draft for v, c in picked],
            topics=batch.label,
            language=self.settings.target_language,
        )
        extras = {e.card: e.extra for e in answer.extras if e.extra.strip()}
        result = [verdict.model_copy(update={"cards": list(verdict.cards)}) for verdict in verdicts]
        for number, (v, c) in enumerate(picked, start=1):
            if number in extras:
                card = result[v].cards[c]
                draft = card.draft.model_copy(update={"extra": extras[number]})
                result[v].cards[c] = touched(card, Role.CODE_EXPERT, draft)
        return result

    @step(num_workers=WORKERS)
    async def format(self, ctx: Context, ev: FormatVerdicts) -> BatchDone:
        await self.record.step(
            ctx, Role.FORMATTER, ev.batch.label, lambda: self._format(ev.batch, ev.verdicts)
        )
        return BatchDone(batch=ev.batch)

    async def _format(self, batch: ReviewBatch, verdicts: list[ReviewVerdict]) -> None:
        """Each verdict's cards formatted deterministically; only broken ones go to the LLM for repair."""
        markups = [self.record.markup(note) for note in batch.notes]
        formatted_cards = await self._in_thread(
            lambda: [
                [touched(card, Role.FORMATTER) for card in format_cards(v.cards, m)]
                for v, m in zip(verdicts, markups, strict=True)
            ]
        )
        broken = [
            (v, c)
            for v, cards in enumerate(formatted_cards)
            for c, card in enumerate(cards)
            if needs_repair(card)
        ]
        repairs = await asyncio.gather(
            *(
                self.agents.repair(
                    formatted_cards[v][c].draft, formatted_cards[v][c].lints, topic=batch.label
                )
                for v, c in broken
            ),
            return_exceptions=True,
        )
        for (v, c), repaired in zip(broken, repairs, strict=True):
            if isinstance(repaired, PipelineError):
                self.record.fail(f"{Role.FORMATTER}: {batch.label}", repaired)
            elif isinstance(repaired, BaseException):
                raise repaired
            else:
                card = formatted_cards[v][c]
                formatted_cards[v][c] = format_card(card.model_copy(update={"draft": repaired}), markups[v])
        self.record.finish(
            batch,
            [
                checked(n, v, cards)
                for n, v, cards in zip(batch.notes, verdicts, formatted_cards, strict=True)
            ],
        )

    @step
    async def finish(self, done: list[BatchDone]) -> StopEvent:
        return StopEvent(result=self.record.result())


_CODE = re.compile(r"```|`[^`\n]+`")
"""A code block or inline code: what a note's evidence must show for its suggested cards to go to the Code
and Extra Field Expert (as a topic whose source shows code does in a generation)."""


def _needs_expert(note: ExistingNote, verdict: ReviewVerdict) -> bool:
    """Whether the Expert should write the extra of the verdict's cards: a change of a note whose question,
    answer or evidence shows code, and whose extra has somewhere to go (a split's new notes always have
    one)."""
    if verdict.action not in ("rewrite", "split") or (verdict.action == "rewrite" and not note.has_extra):
        return False
    return bool(_CODE.search(f"{note.card.front}\n{note.card.back}\n{_evidence(note)}"))


def _evidence(note: ExistingNote) -> str:
    """What a note's code is checked against: the text it was made from, or, for a learner's own note, the
    note itself. A generated note's extra is not evidence: models invent code there, and the Expert, told to
    add code only where its source shows code, would put back what the Reviewer took out."""
    card = note.card
    return note.source or f"{card.front}\n{card.back}\n{card.extra}".strip()


def _code_source(notes: Sequence[ExistingNote]) -> str:
    """What the Expert checks code against: each note's evidence, each text once."""
    return "\n\n".join(dict.fromkeys(_evidence(note) for note in notes))


# Running a review


async def review_notes(
    notes: Sequence[ExistingNote],
    settings: PipelineSettings,
    *,
    feedback: str = "",
    on_event: OnEvent | None = None,
    on_handler: OnHandler | None = None,
) -> ReviewResult:
    """A verdict for each of `notes` (with the learner's `feedback` when they are reviewed again)."""
    usage = UsageMeter()
    record = ReviewRecord(usage, len(notes), lambda note: markup_of(note, settings))
    listener: Listener[int, list[ReviewVerdict]] | None = None
    if on_event is not None:
        listener = Listener(on_event, VerdictsReady, lambda ready: ready.verdicts)
    start = ReviewStart(notes=list(notes), feedback=feedback)
    return await drive(
        lambda agents: RereviewWorkflow(settings, agents, record),
        start,
        record,
        settings,
        usage,
        listener,
        on_handler,
    )


class ReviewJob(BackgroundRun[ReviewResult]):
    """A review in a worker thread: `start()`, `cancel()`, `result()`, `on_done(job)` as for `PipelineRun`."""

    def __init__(
        self,
        notes: Sequence[ExistingNote],
        settings: PipelineSettings,
        *,
        feedback: str = "",
        on_event: OnEvent | None = None,
        on_done: Callable[[ReviewJob], None] | None = None,
    ) -> None:
        super().__init__(on_done=on_done)
        self._notes = list(notes)
        self._settings = settings
        self._feedback = feedback
        self._on_event = on_event

    def _execute(self, on_handler: OnHandler) -> Awaitable[ReviewResult]:
        return review_notes(
            self._notes,
            self._settings,
            feedback=self._feedback,
            on_event=self._on_event,
            on_handler=on_handler,
        )

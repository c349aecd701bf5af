"""`RunRecord`: what a run has done so far, written by its steps as they go."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from workflows import Context

from ..cards.anki_markup import STRICT, MarkupPolicy
from ..cards.formatting import format_cards, render_failed
from ..cards.lints import with_cross_card_lints
from ..errors import PipelineError
from ..llm.usage import UsageMeter
from ..models import Card, Outline, RunResult, StepError
from ..roles import Role
from ..settings import Mode
from .events import Batch, CardsChanged, CardsReady, ProgressEvent, StepFinished, StepStarted
from .stages import touched
from .written import repeats

T = TypeVar("T")
P = TypeVar("P", bound=ProgressEvent)

MAX_CHANGES = 30
MAX_CHANGE_CHARS = 200


class Steps:
    """Agent steps with their progress events, and the errors they record: the base of a run's record.
    Subclasses make the events (`_progress`) and stream what a step finished (`_stream_ready`)."""

    errors: list[StepError]

    def fail(self, step: str, error: Exception | str) -> None:
        self.errors.append(StepError(step=step, message=str(error)))

    async def step(self, ctx: Context, role: str, topic: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """Run one agent step with progress events; a pipeline error is recorded and gives None."""
        ctx.write_event_to_stream(self._progress(StepStarted, role, topic))
        try:
            value = await call()
        except PipelineError as e:
            self.fail(f"{role}: {topic}" if topic else role, e)
            self._stream_ready(ctx)
            ctx.write_event_to_stream(self._progress(StepFinished, role, topic, error=str(e)))
            return None
        self._stream_ready(ctx)
        ctx.write_event_to_stream(self._progress(StepFinished, role, topic))
        return value

    def _stream_ready(self, ctx: Context) -> None:
        raise NotImplementedError

    def _progress(self, kind: type[P], role: str, topic: str, **details: Any) -> P:
        raise NotImplementedError


class Finished(NamedTuple):
    cards: list[Card]
    """The batch's cards as kept."""
    changes: list[str]
    """One line per card dropped because it repeats a card finished before it."""


class RunRecord(Steps):
    """What a run has done so far: cards per batch, the outline and the errors.

    Steps write to it as they go: `pending` for a batch's cards as each stage leaves them, `finish` once
    they are formatted. Whatever way the run ends (done, cancelled, timed out, failed), `result` returns
    every card made: those still pending are formatted then, deterministically, without the LLM.

    The run owns uniqueness: `finish` drops the cards that repeat a card of a batch finished before
    (`written.repeats`), also for the batches `result` formats, so no card of the result asks what another
    asks, and no card is streamed that the result then leaves out.

    Each finished batch is streamed to listeners as a `CardsReady` event when the step that made it ends;
    `unsent` gives the events for what the stream did not carry (the batches `result` formatted).
    """

    def __init__(self, mode: Mode, usage: UsageMeter, markup: MarkupPolicy = STRICT) -> None:
        self.mode = mode
        self.usage = usage
        self.markup = markup
        """The math and media tags the run's cards may keep."""
        self.outline: Outline | None = None
        self.errors: list[StepError] = []
        self._finished: dict[tuple[int, int], tuple[Batch, list[Card]]] = {}
        self._pending: dict[tuple[int, int], tuple[Batch, list[Card]]] = {}
        self._ready: list[tuple[int, int]] = []

    @property
    def cards_so_far(self) -> int:
        return sum(len(cards) for _, cards in self._finished.values())

    @property
    def topics_done(self) -> int:
        """The topics of the batches finished so far."""
        return sum(len(batch.topics) for batch, _ in self._finished.values())

    @property
    def topics_total(self) -> int:
        return len(self.outline.topics) if self.outline else 0

    def pending(self, batch: Batch, cards: list[Card]) -> None:
        """A batch's cards as a stage left them, not formatted (again) yet."""
        self._finished.pop(batch.key, None)
        self._pending[batch.key] = (batch, cards)

    def finish(self, batch: Batch, cards: list[Card]) -> Finished:
        """Record a batch's formatted cards (none if it failed). Left out: those that could not be rendered,
        with an error, and those that repeat a card of another finished batch or an earlier one of this
        batch, each with a line saying which."""
        self._pending.pop(batch.key, None)
        rendered = []
        for card in cards:
            if render_failed(card):
                self.fail(f"{Role.FORMATTER}: {batch.name}", f"A card was left out. {card.lints[0].message}")
            else:
                rendered.append(card)
        others = [card for key, (_, own) in self._finished.items() if key != batch.key for card in own]
        dropped = dict(repeats(rendered, others))
        kept = [card for index, card in enumerate(rendered) if index not in dropped]
        self._finished[batch.key] = (batch, kept)
        self._ready.append(batch.key)
        return Finished(kept, list(dropped.values()))

    def result(self, *, cancelled: bool = False) -> RunResult:
        """The run's result, pending cards formatted; the lints that compare cards run once more over all."""
        for batch, cards in sorted(self._pending.values(), key=lambda pending: pending[0].key):
            self.finish(batch, [touched(card, Role.FORMATTER) for card in format_cards(cards, self.markup)])
        cards = [card for key in sorted(self._finished) for card in self._finished[key][1]]
        findings = with_cross_card_lints([card.lints for card in cards], [card.draft for card in cards])
        return RunResult(
            mode=self.mode,
            outline=self.outline,
            cards=[card.model_copy(update={"lints": f}) for card, f in zip(cards, findings, strict=True)],
            usage=self.usage.snapshot(),
            errors=list(self.errors),
            cancelled=cancelled,
        )

    def _stream_ready(self, ctx: Context) -> None:
        """A `CardsReady` event for each batch finished since the last one (the cards as finished)."""
        ready, self._ready = self._ready, []
        for key in dict.fromkeys(ready):
            if key in self._finished:
                ctx.write_event_to_stream(self._cards_ready(key))

    def unsent(self, sent: Mapping[tuple[int, int], Sequence[Card]]) -> list[CardsReady]:
        """A `CardsReady` event for each finished batch whose cards differ from those `sent` to listeners:
        the batches formatted at the end of a cancelled, timed-out or failed run, or streamed too late."""
        finished = self._finished.items()
        return [self._cards_ready(key) for key, (_, cards) in finished if sent.get(key) != cards]

    def _cards_ready(self, key: tuple[int, int]) -> CardsReady:
        batch, cards = self._finished[key]
        return self._progress(CardsReady, Role.FORMATTER, batch.name, batch=key, cards=cards)

    def changed(self, ctx: Context, role: str, topic: str, changes: Sequence[str]) -> None:
        """Tell listeners what an agent changed; its lines are cut to a sane number and length."""
        lines = [line.strip()[:MAX_CHANGE_CHARS] for line in changes if line.strip()][:MAX_CHANGES]
        if lines:
            ctx.write_event_to_stream(self._progress(CardsChanged, role, topic, changes=lines))

    def _progress(self, kind: type[P], role: str, topic: str, **details: Any) -> P:
        """A progress event of `kind` with the run's totals so far."""
        return kind(
            role=role,
            topic=topic,
            cards_so_far=self.cards_so_far,
            topics_done=self.topics_done,
            topics_total=self.topics_total,
            usage=self.usage.snapshot(),
            **details,
        )

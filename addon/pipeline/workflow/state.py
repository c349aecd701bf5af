"""`RunRecord`: what a run has done so far, written by its steps as they go."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from workflows import Context

from ..cards.lints import with_cross_card_lints
from ..errors import PipelineError
from ..llm.usage import UsageMeter
from ..models import Card, Outline, RunResult, StepError
from ..roles import Role
from ..settings import Mode
from .events import CardsChanged, CardsReady, ProgressEvent, StepFinished, StepStarted

T = TypeVar("T")
P = TypeVar("P", bound=ProgressEvent)

MAX_CHANGES = 30
MAX_CHANGE_CHARS = 200


class RunRecord:
    """What a run has done so far: finished cards per topic, the outline and the errors.

    Steps write to it as they go, so that the cards finished before a cancellation or a timeout are kept;
    each finished batch is streamed to listeners as a `CardsReady` event when the step that made it ends.
    """

    def __init__(self, mode: Mode, usage: UsageMeter) -> None:
        self.mode = mode
        self.usage = usage
        self.outline: Outline | None = None
        self.errors: list[StepError] = []
        self._finished: dict[tuple[int, int], list[Card]] = {}
        self._ready: list[tuple[int, int]] = []

    @property
    def cards_so_far(self) -> int:
        return sum(map(len, self._finished.values()))

    @property
    def topics_total(self) -> int:
        return len(self.outline.topics) if self.outline else 0

    def finish(self, key: tuple[int, int], cards: list[Card]) -> None:
        """The topic `key` is done with these cards (none if it failed)."""
        self._finished[key] = cards
        self._ready.append(key)

    def fail(self, step: str, error: Exception | str) -> None:
        self.errors.append(StepError(step=step, message=str(error)))

    def result(self, *, cancelled: bool = False) -> RunResult:
        """The run's result; the lints that compare cards run once more over all of them."""
        cards = [card for key in sorted(self._finished) for card in self._finished[key]]
        findings = with_cross_card_lints([card.lints for card in cards], [card.draft for card in cards])
        return RunResult(
            mode=self.mode,
            outline=self.outline,
            cards=[card.model_copy(update={"lints": f}) for card, f in zip(cards, findings, strict=True)],
            usage=self.usage.snapshot(),
            errors=list(self.errors),
            cancelled=cancelled,
        )

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
        """A `CardsReady` event for each batch finished since the last one (the cards as finished)."""
        ready, self._ready = self._ready, []
        for key in dict.fromkeys(ready):
            cards = self._finished[key]
            topic = cards[0].provenance.topic if cards else ""
            ctx.write_event_to_stream(
                self._progress(CardsReady, Role.FORMATTER, topic, batch=key, cards=cards)
            )

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
            topics_done=len(self._finished),
            topics_total=self.topics_total,
            usage=self.usage.snapshot(),
            **details,
        )

"""`RunRecord`: what a run has done so far, written by its steps as they go."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from workflows import Context

from ..cards.lints import with_cross_card_lints
from ..errors import PipelineError
from ..llm.usage import UsageMeter
from ..models import Card, Outline, RunResult, StepError
from ..settings import Mode
from .events import CardsChanged, ProgressEvent, StepFinished, StepStarted

T = TypeVar("T")
P = TypeVar("P", bound=ProgressEvent)

MAX_CHANGES = 30
MAX_CHANGE_CHARS = 200


class RunRecord:
    """What a run has done so far: finished cards per batch, the outline and the errors.

    Steps write to it as they go, so that the cards finished before a cancellation or a timeout are kept.
    """

    def __init__(self, mode: Mode, usage: UsageMeter) -> None:
        self.mode = mode
        self.usage = usage
        self.outline: Outline | None = None
        self.errors: list[StepError] = []
        self._finished: dict[tuple[int, int], list[Card]] = {}

    @property
    def cards_so_far(self) -> int:
        return sum(map(len, self._finished.values()))

    def finish(self, key: tuple[int, int], cards: list[Card]) -> None:
        self._finished[key] = cards

    def finished_cards(self, *, besides: tuple[int, int]) -> list[Card]:
        """The cards of the batches finished so far, but batch `besides`, in the order they were finished."""
        return [card for key, cards in self._finished.items() if key != besides for card in cards]

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
            ctx.write_event_to_stream(self._progress(StepFinished, role, topic, error=str(e)))
            return None
        ctx.write_event_to_stream(self._progress(StepFinished, role, topic))
        return value

    def changed(self, ctx: Context, role: str, topic: str, changes: Sequence[str]) -> None:
        """Tell listeners what an agent changed; its lines are cut to a sane number and length."""
        lines = [line.strip()[:MAX_CHANGE_CHARS] for line in changes if line.strip()][:MAX_CHANGES]
        if lines:
            ctx.write_event_to_stream(self._progress(CardsChanged, role, topic, changes=lines))

    def _progress(self, kind: type[P], role: str, topic: str, **details: Any) -> P:
        """A progress event of `kind` with the run's totals so far."""
        return kind(
            role=role, topic=topic, cards_so_far=self.cards_so_far, usage=self.usage.snapshot(), **details
        )

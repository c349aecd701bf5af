"""Running the pipeline: `generate`/`regenerate` for async callers, `PipelineRun` for the dialogs and the CLI.

A `PipelineRun` works in its own thread with its own event loop; `on_event` is called from that thread with
each `ProgressEvent` (`CardsReady` carries each batch of finished cards), and `on_done` once at the end, also
from that thread: a UI hands both to its main thread. However a run ends, its result holds every card made so
far: cancelling keeps them (`RunResult.cancelled`); a run that times out keeps them with a StepError saying
so; cards not yet reviewed or formatted then are formatted without the LLM, and their batches are sent as
`CardsReady` before `on_done`, so the batches sent always add up to the result's cards. Pipeline errors of
single steps are in `RunResult.errors`; any other exception is a bug: it is logged, ends the run, and is
recorded as an error of step "run", and the cards made so far are kept.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from workflows import Workflow
from workflows.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from workflows.events import Event, StartEvent
from workflows.handler import WorkflowHandler

from ..agents.team import Agents
from ..cards.anki_markup import MarkupPolicy
from ..llm.client import LLMClient
from ..llm.http import tls_context
from ..llm.slots import Slots
from ..llm.usage import UsageMeter
from ..models import Card, RunResult, Source
from ..settings import PipelineSettings
from .context import CONTEXT_STEP, ContextCheck
from .events import CardsReady, PipelineStart, ProgressEvent, Regeneration
from .orchestrator import OrchestratorWorkflow
from .planned import PlannedWorkflow
from .route import Route
from .sources import prepare
from .state import RunRecord

logger = logging.getLogger(__name__)

FIRST_RUN_IMPORTS = (
    "anyio._backends._asyncio",  # httpx's async backend
    "workflows._event_summary",
    "workflows.plugins.basic",
    "workflows.representation.build",
    "workflows.representation.validate",
    "workflows.runtime.control_loop.runner",
    "workflows.runtime.runtime_decorators",
    "workflows.runtime.types.step_function",
    "workflows.runtime.verbose",
)
"""Modules the libraries import only when first used, by name: at a session's first run, in its thread,
where importing them held the GIL long enough to stall Anki's window (60-90 ms). Imported with the pipeline
instead, in the thread that loads it, as are the certificates every run's HTTP client trusts (40 ms);
`tests/test_first_run.py` checks that a run imports nothing."""
for _name in FIRST_RUN_IMPORTS:
    importlib.import_module(_name)
tls_context()

R = TypeVar("R")
K = TypeVar("K")
V = TypeVar("V")
R_co = TypeVar("R_co", covariant=True)
OnEvent = Callable[[ProgressEvent], None]
OnDone = Callable[["PipelineRun"], None]
OnHandler = Callable[[WorkflowHandler], None]
SOURCE_STEP = "text"
"""The step named in errors about the sources themselves (nothing to learn from, too long)."""


async def generate(
    sources: Sequence[Source], settings: PipelineSettings, *, on_event: OnEvent | None = None
) -> RunResult:
    """Cards from `sources` by the route `settings.mode` names."""
    return await _execute(PipelineStart(sources=list(sources)), settings, on_event)


async def regenerate(
    cards: Sequence[Card],
    feedback: str,
    source: Source,
    settings: PipelineSettings,
    *,
    on_event: OnEvent | None = None,
) -> RunResult:
    """Replacements for `cards`, made again with the learner's `feedback` ("shorter", "make it a cloze",
    "in German") and then reviewed and formatted; the run's other cards are not touched.

    Always takes the planned route. Every card in the result names the card it replaces in `replaces` (a card
    split in two gives two cards replacing the same one); the first keeps that card's id, the others get ids
    `<id>.<suffix>`. A card with no replacement in the result (the Reviewer dropped it, or a step failed: see
    `errors`) should be kept as it was. `apply_regeneration` does exactly that.
    """
    start = _regeneration_start(cards, feedback, source)
    return await _execute(start, settings.model_copy(update={"mode": "planned"}), on_event)


def apply_regeneration(cards: Sequence[Card], regenerated: RunResult) -> list[Card]:
    """`cards` with each card replaced by its replacements from `regenerate`, in place; others unchanged."""
    replacements: dict[str, list[Card]] = {}
    for card in regenerated.cards:
        replacements.setdefault(card.replaces or card.id, []).append(
            card.model_copy(update={"replaces": None})
        )
    return [new for card in cards for new in replacements.get(card.id, [card])]


class BackgroundRun(Generic[R]):
    """One job in a worker thread with its own event loop: `start()`, then `result()`; `cancel()` from any
    thread. `on_done(run)` is called from the worker thread when the job is over, whatever way it ended;
    `result()` then returns at once. Subclasses give the job (`_execute`): a generation, a review."""

    def __init__(self, *, on_done: Callable[[Any], None] | None = None) -> None:
        self._on_done = on_done
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handler: WorkflowHandler | None = None
        self._cancelled = False
        self._result: R | None = None
        self._error: BaseException | None = None

    def _execute(self, on_handler: OnHandler) -> Awaitable[R]:
        raise NotImplementedError

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("This run was started already.")
            self._thread = threading.Thread(target=self._main, name="ai-card-generator-run", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop the run soon (about a second); the work finished so far is kept. Safe from any thread."""
        with self._lock:
            self._cancelled = True
            handler, loop = self._handler, self._loop
        if handler is not None and loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(handler.cancel_run(), loop)
            except RuntimeError:  # the loop has just closed: the run is over anyway
                pass

    def result(self, timeout: float | None = None) -> R:
        """Wait for the run's result; TimeoutError if it is not done after `timeout` seconds."""
        if self._thread is None:
            raise RuntimeError("Call start() first.")
        if not self._done.wait(timeout):
            raise TimeoutError("The run is still going.")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def _main(self) -> None:
        try:
            self._result = asyncio.run(self._run_job())
        except BaseException as e:  # handed to the thread that calls result()
            self._error = e
        finally:
            with self._lock:
                self._handler = self._loop = None
            self._done.set()
            if self._on_done is not None:
                try:
                    self._on_done(self)
                except Exception:
                    logger.exception("The run's completion listener failed")

    async def _run_job(self) -> R:
        return await self._execute(self._attach)

    def _attach(self, handler: WorkflowHandler) -> None:
        with self._lock:
            self._handler, self._loop = handler, asyncio.get_running_loop()
            cancelled = self._cancelled
        if cancelled:
            asyncio.ensure_future(handler.cancel_run())


class PipelineRun(BackgroundRun[RunResult]):
    """A generation (or, with `PipelineRun.regeneration(...)`, which takes `regenerate`'s arguments, a
    regeneration) in a worker thread."""

    def __init__(
        self,
        sources: Sequence[Source],
        settings: PipelineSettings,
        *,
        on_event: OnEvent | None = None,
        on_done: OnDone | None = None,
        _start: PipelineStart | None = None,
    ) -> None:
        super().__init__(on_done=on_done)
        self._start_event = _start or PipelineStart(sources=list(sources))
        self._settings = settings
        self._on_event = on_event

    @classmethod
    def regeneration(
        cls,
        cards: Sequence[Card],
        feedback: str,
        source: Source,
        settings: PipelineSettings,
        *,
        on_event: OnEvent | None = None,
        on_done: OnDone | None = None,
    ) -> PipelineRun:
        start = _regeneration_start(cards, feedback, source)
        planned = settings.model_copy(update={"mode": "planned"})
        return cls([source], planned, on_event=on_event, on_done=on_done, _start=start)

    def _execute(self, on_handler: OnHandler) -> Awaitable[RunResult]:
        return _execute(self._start_event, self._settings, self._on_event, on_handler=on_handler)


async def _execute(
    start: PipelineStart,
    settings: PipelineSettings,
    on_event: OnEvent | None,
    *,
    on_handler: Callable[[WorkflowHandler], None] | None = None,
) -> RunResult:
    usage = UsageMeter()
    prepared = prepare(start.sources, settings, cut=start.regeneration is None)
    start = start.model_copy(update={"sources": prepared.sources})
    markup = MarkupPolicy.for_sources((source.text for source in start.sources), settings.math)
    record = RunRecord(settings.mode, usage, markup)
    for problem in prepared.problems:
        record.fail(SOURCE_STEP, problem)
    if not start.sources:
        return record.result()
    route: type[Route] = OrchestratorWorkflow if settings.mode == "orchestrator" else PlannedWorkflow
    listener: Listener[tuple[int, int], list[Card]] | None = None
    if on_event is not None:
        listener = Listener(on_event, CardsReady, lambda ready: ready.cards)
    return await drive(
        lambda agents: route(settings, agents, record), start, record, settings, usage, listener, on_handler
    )


class Recorder(Protocol[R_co]):
    """What a run's record gives `drive`: errors go in, the result comes out with what was made so far,
    and the finished batches a listener was not sent as they are."""

    def fail(self, step: str, error: Exception | str) -> None: ...

    def result(self, *, cancelled: bool = False) -> R_co: ...

    def unsent(self, sent: Mapping[Any, Any]) -> Sequence[ProgressEvent]: ...


async def drive(
    make: Callable[[Agents], Workflow],
    start: StartEvent,
    record: Recorder[R],
    settings: PipelineSettings,
    usage: UsageMeter,
    listener: Listener[Any, Any] | None,
    on_handler: OnHandler | None,
) -> R:
    """Run the workflow `make` builds on the run's agents, from `start`, streaming its events to `listener`;
    however it ends (done, cancelled, timed out, a bug), the result holds what the run made so far and says
    what went wrong, and the listener has been sent every finished batch as it is in the result."""
    llm = LLMClient(settings.llm, usage=usage, max_requests=settings.max_requests_per_run)
    context = ContextCheck(settings.llm, lambda problem: record.fail(CONTEXT_STEP, problem))
    try:
        handler = make(Agents(llm, Slots(settings.max_concurrency), check=context)).run(start_event=start)
        if on_handler is not None:
            on_handler(handler)
        async for event in handler.stream_events():
            if listener is not None:
                listener(event)
        result: R = await handler
    except WorkflowCancelledByUser:
        result = record.result(cancelled=True)
    except WorkflowTimeoutError:
        record.fail("run", f"The run took longer than {settings.run_timeout:g} s and was stopped.")
        result = record.result()
    except Exception as error:  # a bug: the learner keeps what was made so far, and sees one line
        logger.exception("The run failed")
        record.fail("run", f"The run stopped on an unexpected error: {_one_line(error)}")
        result = record.result()
    finally:
        await llm.aclose()
    if listener is not None:
        for ready in record.unsent(listener.sent):
            listener(ready)
    return result


class Listener(Generic[K, V]):
    """Hands progress events to `on_event`, remembering what each finished batch carried when it was sent
    (`ready` events, by their `batch`: their `contents`); a broken listener is logged and does not stop the
    run."""

    def __init__(self, on_event: OnEvent, ready: type[ProgressEvent], contents: Callable[[Any], V]) -> None:
        self.on_event = on_event
        self.ready = ready
        self.contents = contents
        self.sent: dict[K, V] = {}

    def __call__(self, event: Event) -> None:
        if not isinstance(event, ProgressEvent):
            return
        if isinstance(event, self.ready):
            self.sent[event.batch] = self.contents(event)
        try:
            self.on_event(event)
        except Exception:
            logger.exception("A progress listener failed on %s", event)


def _one_line(error: Exception, limit: int = 200) -> str:
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _regeneration_start(cards: Sequence[Card], feedback: str, source: Source) -> PipelineStart:
    if not cards:
        raise ValueError("Choose at least one card to make again.")
    return PipelineStart(sources=[source], regeneration=Regeneration(cards=list(cards), feedback=feedback))

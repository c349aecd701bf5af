"""Running the pipeline: `generate`/`regenerate` for async callers, `PipelineRun` for the dialogs and the CLI.

A `PipelineRun` works in its own thread with its own event loop; `on_event` is called from that thread with
each `ProgressEvent`. Cancelling keeps the cards finished so far (`RunResult.cancelled`); a run that times out
keeps them too, with a StepError saying so. Pipeline errors of single steps are in `RunResult.errors`; any
other exception is a bug and is raised from `result()`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from workflows.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from workflows.handler import WorkflowHandler

from ..agents.team import Agents
from ..llm.client import LLMClient
from ..llm.slots import Slots
from ..llm.usage import UsageMeter
from ..models import Card, RunResult, Source
from ..settings import PipelineSettings
from .context import CONTEXT_STEP, ContextCheck
from .events import PipelineStart, ProgressEvent, Regeneration
from .orchestrator import OrchestratorWorkflow
from .planned import PlannedWorkflow
from .route import Route
from .state import RunRecord

logger = logging.getLogger(__name__)

OnEvent = Callable[[ProgressEvent], None]


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

    Always takes the planned route. A replacement has the id of the card it replaces; further cards split
    from that card have ids `<id>.<suffix>`. A card with no replacement in the result (the Reviewer dropped
    it, or a step failed: see `errors`) should be kept as it was. `apply_regeneration` does exactly that.
    """
    start = _regeneration_start(cards, feedback, source)
    return await _execute(start, settings.model_copy(update={"mode": "planned"}), on_event)


def apply_regeneration(cards: Sequence[Card], regenerated: RunResult) -> list[Card]:
    """`cards` with each card replaced by its replacements from `regenerate`, in place; others unchanged."""
    replacements: dict[str, list[Card]] = {}
    for card in regenerated.cards:
        replacements.setdefault(card.id.split(".", 1)[0], []).append(card)
    return [new for card in cards for new in replacements.get(card.id, [card])]


class PipelineRun:
    """One run in a worker thread: `start()`, then `result()`; `cancel()` from any thread.

    For a regeneration use `PipelineRun.regeneration(...)`, which takes `regenerate`'s arguments.
    """

    def __init__(
        self,
        sources: Sequence[Source],
        settings: PipelineSettings,
        *,
        on_event: OnEvent | None = None,
        _start: PipelineStart | None = None,
    ) -> None:
        self._start_event = _start or PipelineStart(sources=list(sources))
        self._settings = settings
        self._on_event = on_event
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handler: WorkflowHandler | None = None
        self._cancelled = False
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    @classmethod
    def regeneration(
        cls,
        cards: Sequence[Card],
        feedback: str,
        source: Source,
        settings: PipelineSettings,
        *,
        on_event: OnEvent | None = None,
    ) -> PipelineRun:
        start = _regeneration_start(cards, feedback, source)
        return cls([source], settings.model_copy(update={"mode": "planned"}), on_event=on_event, _start=start)

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("This run was started already.")
            self._thread = threading.Thread(target=self._main, name="ai-card-generator-run", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop the run soon (about a second); the cards finished so far are kept. Safe from any thread."""
        with self._lock:
            self._cancelled = True
            handler, loop = self._handler, self._loop
        if handler is not None and loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(handler.cancel_run(), loop)
            except RuntimeError:  # the loop has just closed: the run is over anyway
                pass

    def result(self, timeout: float | None = None) -> RunResult:
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
            self._result = asyncio.run(
                _execute(self._start_event, self._settings, self._on_event, on_handler=self._attach)
            )
        except BaseException as e:  # handed to the thread that calls result()
            self._error = e
        finally:
            with self._lock:
                self._handler = self._loop = None
            self._done.set()

    def _attach(self, handler: WorkflowHandler) -> None:
        with self._lock:
            self._handler, self._loop = handler, asyncio.get_running_loop()
            cancelled = self._cancelled
        if cancelled:
            asyncio.ensure_future(handler.cancel_run())


async def _execute(
    start: PipelineStart,
    settings: PipelineSettings,
    on_event: OnEvent | None,
    *,
    on_handler: Callable[[WorkflowHandler], None] | None = None,
) -> RunResult:
    usage = UsageMeter()
    llm = LLMClient(settings.llm, usage=usage, max_requests=settings.max_requests_per_run)
    record = RunRecord(settings.mode, usage)
    context = ContextCheck(settings.llm.context_window, lambda problem: record.fail(CONTEXT_STEP, problem))
    agents = Agents(llm, Slots(settings.max_concurrency), check=context)
    route: type[Route] = OrchestratorWorkflow if settings.mode == "orchestrator" else PlannedWorkflow
    workflow = route(settings, agents, record)
    try:
        handler = workflow.run(start_event=start)
        if on_handler is not None:
            on_handler(handler)
        async for event in handler.stream_events():
            if on_event is not None and isinstance(event, ProgressEvent):
                _deliver(on_event, event)
        result: RunResult = await handler
        return result
    except WorkflowCancelledByUser:
        return record.result(cancelled=True)
    except WorkflowTimeoutError:
        record.fail("run", f"The run took longer than {settings.run_timeout:g} s and was stopped.")
        return record.result()
    finally:
        await llm.aclose()


def _deliver(on_event: OnEvent, event: ProgressEvent) -> None:
    """Call the listener; a broken listener is logged and does not stop the run."""
    try:
        on_event(event)
    except Exception:
        logger.exception("A progress listener failed on %s", event)


def _regeneration_start(cards: Sequence[Card], feedback: str, source: Source) -> PipelineStart:
    if not cards:
        raise ValueError("Choose at least one card to make again.")
    return PipelineStart(sources=[source], regeneration=Regeneration(cards=list(cards), feedback=feedback))

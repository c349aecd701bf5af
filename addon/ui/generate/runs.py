"""Pipeline runs for a window, with the results handed to Anki's main thread: `JobRunner` (reusable: the
review window runs its reviews with it too) and `RunDriver`, the generate window's runs into a draft session.

A run works in its own thread (not a QueryOp: Anki would count it as a background operation for minutes and
the Browser would show placeholder rows meanwhile). Its events and its end reach the main thread through
`mw.taskman.run_on_main`; there the cards go into the session, which journals them, whether or not the
window that started the run is still open. The window listens through `RunListener` and detaches on close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from aqt.main import AnkiQt

from ...responsive import begin_background_work, end_background_work

if TYPE_CHECKING:
    from ...drafts import DraftSession, RunStatus
    from ...pipeline.models import Card, RunResult, Source
    from ...pipeline.settings import PipelineSettings
    from ...pipeline.workflow.events import ProgressEvent

R = TypeVar("R")
E = TypeVar("E")
R_co = TypeVar("R_co", covariant=True)


class RunListener(Protocol):
    def run_progress(self, event: ProgressEvent) -> None: ...

    def run_cards_changed(self, new_rows: Sequence[int]) -> None: ...

    def run_finished(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    cards: int
    """Cards the run added to the session (finished or regenerated)."""


class Job(Protocol[R_co]):
    """A pipeline run in its own thread (`PipelineRun` and its kin)."""

    def start(self) -> None: ...

    def cancel(self) -> None: ...

    def result(self, timeout: float | None = None) -> R_co: ...


class JobRunner(Generic[R, E]):
    """Runs a window's pipeline jobs one at a time, each in its own thread, and hands their progress events
    (`E`) and results (`R`) to the main thread. Subclasses say what the events and results do (`_on_event`,
    and the `apply` given with each job), and `listener.run_finished` hears how the last job ended."""

    listener: Any

    def __init__(self, mw: AnkiQt) -> None:
        self.mw = mw
        self._run: Job[R] | None = None
        self._queue: list[Callable[[], Job[R]]] = []
        self._stopped = False
        self._when_idle: list[Callable[[], None]] = []

    @property
    def running(self) -> bool:
        return self._run is not None

    def when_idle(self, callback: Callable[[], None]) -> None:
        """Call `callback` once no job is going, its results applied (at once if none is)."""
        if self._run is None:
            callback()
        else:
            self._when_idle.append(callback)

    def cancel(self) -> None:
        """Stop: what the job finished so far stays."""
        self._stopped = True
        self._queue = []
        if self._run is not None:
            self._run.cancel()

    def _start(self, make: Callable[[], Job[R]]) -> None:
        self._stopped = False
        if self._run is None:
            begin_background_work()
        self._run = make()
        self._run.start()

    def _run_all(self, jobs: Sequence[Callable[[], Job[R]]]) -> None:
        """These jobs one after the other (Stop drops those not started)."""
        self._queue = list(jobs[1:])
        self._start(jobs[0])

    # worker thread → main thread

    def _event(self, event: E) -> None:
        self.mw.taskman.run_on_main(lambda: self._on_event(event))

    def _done(self, apply: Callable[[R], Outcome]) -> Callable[[Job[R]], None]:
        """The job's `on_done`: `apply` its result on the main thread."""
        return lambda job: self.mw.taskman.run_on_main(lambda: self._finish(job, apply))

    # main thread

    def _on_event(self, event: E) -> None:
        raise NotImplementedError

    def _failed(self, error: BaseException) -> Outcome:
        raise NotImplementedError

    def _finish(self, job: Job[R], apply: Callable[[R], Outcome]) -> None:
        try:
            result = job.result(timeout=0)
        except BaseException as error:  # the job's own, handed over (asyncio.CancelledError is one too)
            outcome = self._failed(error)
        else:
            outcome = apply(result)
        if self._queue and not self._stopped:
            self._start(self._queue.pop(0))
            return
        self._run = None
        end_background_work()
        if self.listener is not None:
            self.listener.run_finished(outcome)
        callbacks, self._when_idle = self._when_idle, []
        for callback in callbacks:
            callback()


class RunDriver(JobRunner["RunResult", "ProgressEvent"]):
    """Runs one job at a time for a session: a generation, or regenerations (one per source)."""

    def __init__(self, mw: AnkiQt, session: DraftSession, listener: RunListener | None) -> None:
        super().__init__(mw)
        self.session = session
        self.listener = listener

    def generate(self, settings: PipelineSettings) -> None:
        from ...pipeline.workflow.runner import PipelineRun

        sources = self.session.run.sources
        done = self._done(self._generated)
        self._start(lambda: PipelineRun(sources, settings, on_event=self._event, on_done=done))

    def regenerate(
        self, groups: Sequence[tuple[Sequence[Card], Source]], feedback: str, settings: PipelineSettings
    ) -> None:
        """Make these cards again with the learner's feedback: one run per source, one after the other."""
        from ...pipeline.workflow.runner import PipelineRun

        done = self._done(self._regenerated)
        self._run_all(
            [
                (
                    lambda cards=cards, source=source: PipelineRun.regeneration(  # type: ignore[misc]
                        cards, feedback, source, settings, on_event=self._event, on_done=done
                    )
                )
                for cards, source in groups
            ]
        )

    # main thread

    def _on_event(self, event: ProgressEvent) -> None:
        from ...pipeline.workflow.events import CardsReady

        if isinstance(event, CardsReady) and self.session.run.status == "running":
            self.session.run.put_batch(event.batch, event.cards)
            self.session.save()
            if self.listener is not None:
                self.listener.run_cards_changed([])
        if self.listener is not None:
            self.listener.run_progress(event)

    def _generated(self, result: RunResult) -> Outcome:
        run = self.session.run
        before = len(run.pending())
        status: RunStatus = "stopped" if result.cancelled else "finished" if result.cards else "failed"
        run.finish(result, status, "")
        count, usage, problems = len(run.cards), result.usage.describe(), _problems(result)
        if status == "stopped":
            run.message = f"Stopped. {cards_text(count)} kept ({usage})." if count else "Stopped."
        elif status == "finished":
            run.message = f"{cards_text(count)} ready ({usage}). {problems}".strip()
        else:
            run.message = problems or "No cards came back. Try a longer text."
        return self._saved(Outcome(status != "failed", run.message, len(run.pending()) - before))

    def _regenerated(self, result: RunResult) -> Outcome:
        rows = self.session.run.replace(result) if result.cards else []
        if result.cancelled:
            message = "Stopped."
        elif rows:
            message = f"{cards_text(len(rows))} made again ({result.usage.describe()})."
        else:
            message = _problems(result) or "Nothing came back; the cards stay as they were."
        if self.listener is not None and rows:
            self.listener.run_cards_changed(rows)
        return self._saved(Outcome(bool(rows) or result.cancelled, message, len(rows)))

    def _failed(self, error: BaseException) -> Outcome:
        """A bug in the pipeline: the cards that streamed in stay; say what happened, in one line."""
        self.session.run.status = "failed"
        self.session.run.message = (
            f"The run stopped on an unexpected error ({one_line(error)}); its cards stay."
        )
        return self._saved(Outcome(False, self.session.run.message, 0))

    def _saved(self, outcome: Outcome) -> Outcome:
        self.session.save()
        return outcome


def one_line(error: BaseException) -> str:
    """An unexpected error as one short line for the status (its type and first line, never a traceback)."""
    detail = next(iter(str(error).strip().splitlines()), "")[:200]
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def cards_text(count: int) -> str:
    return f"{count} card{'s' if count != 1 else ''}"


def _problems(result: RunResult) -> str:
    return "; ".join(error.message for error in result.errors)

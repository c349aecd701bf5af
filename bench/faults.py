"""The fault suite as a table: every fault of tests/faults.py, run as the dialog runs the pipeline (its own
thread, Stop from another thread), as the command line runs it, and through the Generate Cards window of a
real Anki started in this process (offscreen, a throwaway profile, the add-on from source), against the
local fake OpenAI server; then the faults only Anki has (tests/ui/dialog_faults.py), in that window.

    .venv/bin/python -m bench.faults [--runs N] [--surface pipeline|cli|dialog]

One row per fault. Columns:
- runs: runs made (N per surface the fault applies to);
- ended with cards: runs whose result held cards;
- clear errors: of the runs that reported errors, those whose every error was one plain line (an
  exception that reached Anki's error handler, or a message box, is not);
- cards lost: cards the server delivered that are neither in the result nor left out with an error (in the
  window: nor added, nor skipped as already in the collection, by Add);
- duplicates: cards beyond those delivered, or an id twice (in the window: notes added beyond the cards);
- unsafe HTML: problems the independent check (tests/card_safety.py) found in the stored fields, and in
  the cards as Anki renders them once inserted;
- worst main-thread stall: how late a 10 ms Qt timer on Anki's main thread came, at worst, from Generate
  to the end of Add in the window (dialog runs only);
- requests used: the most any run sent.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.faults import FAULTS, Fault, Outcome, run_cli, run_pipeline

SURFACES = ("pipeline", "cli", "dialog")
HEADER = (
    "fault",
    "runs",
    "ended with cards",
    "clear errors",
    "cards lost",
    "duplicates",
    "unsafe HTML",
    "worst main-thread stall",
    "requests used",
)


class Surfaces:
    """Runs a fault on a surface; the window's surface starts a real Anki the first time it is needed."""

    def __init__(self) -> None:
        self.mw: Any = None
        self._folder = tempfile.TemporaryDirectory(prefix="aicg-bench-faults-")

    def run(self, fault: Fault, surface: str) -> Outcome:
        if surface == "pipeline":
            return run_pipeline(fault)
        if surface == "cli":
            with tempfile.TemporaryDirectory(prefix="aicg-bench-faults-") as folder:
                return run_cli(fault, Path(folder))
        from tests.ui.dialog_faults import run_dialog

        return run_dialog(self.anki(), fault)

    def anki(self) -> Any:
        if self.mw is None:
            # Read when aqt is first imported: Qt without a screen, QtWebEngine as root, our own instance.
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
            os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-bench-faults-{os.getpid()}"
            from tests.ui.anki_app import start_anki

            self.mw = start_anki(Path(self._folder.name) / "anki")
        return self.mw

    def close(self) -> None:
        if self.mw is not None:
            from tests.ui.anki_app import stop_anki

            stop_anki(self.mw)


def row(name: str, outcomes: Sequence[Outcome]) -> list[str]:
    with_errors = [outcome for outcome in outcomes if outcome.errors]
    stalls = [outcome.stall_ms for outcome in outcomes if outcome.stall_ms is not None]
    return [
        name,
        str(len(outcomes)),
        str(sum(outcome.cards > 0 for outcome in outcomes)),
        f"{sum(outcome.clear for outcome in with_errors)}/{len(with_errors)}" if with_errors else "—",
        str(sum(outcome.lost for outcome in outcomes)),
        str(sum(outcome.duplicates for outcome in outcomes)),
        str(sum(len(outcome.unsafe) for outcome in outcomes)),
        f"{max(stalls):.0f} ms" if stalls else "—",
        str(max(outcome.requests for outcome in outcomes)),
    ]


def table(rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1, help="runs per fault and surface (default: 1)")
    parser.add_argument("--surface", choices=SURFACES, action="append", help="default: all three")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # retries are logged as warnings; the table says what matters
    surfaces = args.surface or list(SURFACES)
    runner = Surfaces()
    rows: list[list[str]] = []
    problems: list[str] = []

    def report(name: str, outcomes: Sequence[Outcome]) -> None:
        if outcomes:
            rows.append(row(name, outcomes))
            problems.extend(f"{name}: {problem}" for outcome in outcomes for problem in outcome.unsafe)
            print(f"<!-- {name}: {[outcome.errors[:1] for outcome in outcomes]} -->", flush=True)

    try:
        for fault in FAULTS:
            wanted = [surface for surface in surfaces if surface in fault.surfaces]
            report(fault.name, [runner.run(fault, surface) for surface in wanted for _ in range(args.runs)])
        if "dialog" in surfaces:
            from tests.ui.dialog_faults import ANKI_FAULTS, run_anki_fault

            for anki_fault in ANKI_FAULTS:
                report(anki_fault.name, [run_anki_fault(runner.anki(), anki_fault) for _ in range(args.runs)])
    finally:
        runner.close()
    print(f"\nSurfaces: {', '.join(surfaces)}; {args.runs} run(s) each.\n")
    print(table(rows))
    for problem in problems:
        print(f"unsafe: {problem}")
    if runner.mw is not None:  # as the tests do: Qt and QtWebEngine crash in the interpreter's teardown
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()

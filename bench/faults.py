"""The fault suite as a table: every fault of tests/faults.py, run as the dialog runs the pipeline (its own
thread, Stop from another thread) and as the command line runs it, against the local fake OpenAI server.

    .venv/bin/python -m bench.faults [--runs N] [--surface pipeline|cli]

One row per fault. Columns:
- runs: runs made (N per surface the fault applies to);
- ended with cards: runs whose result held cards;
- clear errors: of the runs that reported errors, those whose every error was one plain line;
- cards lost: cards the server delivered that are neither in the result nor left out with an error;
- duplicates: cards beyond those delivered, or an id twice;
- unsafe HTML: problems the independent check (tests/card_safety.py) found in the stored fields, and in
  the cards as Anki renders them once inserted;
- worst main-thread stall: the longest a 10 ms heartbeat on the main thread came late while the run worked
  in its own thread (pipeline runs);
- requests used: the most any run sent.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.faults import FAULTS, Fault, Outcome, run_cli, run_pipeline

SURFACES = ("pipeline", "cli")
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


def run(fault: Fault, surface: str) -> Outcome:
    if surface == "pipeline":
        return run_pipeline(fault)
    with tempfile.TemporaryDirectory(prefix="aicg-bench-faults-") as folder:
        return run_cli(fault, Path(folder))


def row(fault: Fault, outcomes: Sequence[Outcome]) -> list[str]:
    with_errors = [outcome for outcome in outcomes if outcome.errors]
    stalls = [outcome.stall_ms for outcome in outcomes if outcome.stall_ms is not None]
    return [
        fault.name,
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
    parser.add_argument("--surface", choices=SURFACES, action="append", help="default: both")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # retries are logged as warnings; the table says what matters
    surfaces = args.surface or list(SURFACES)
    rows, problems = [], []
    for fault in FAULTS:
        outcomes = [
            run(fault, surface) for surface in surfaces if surface in fault.surfaces for _ in range(args.runs)
        ]
        if not outcomes:
            continue
        rows.append(row(fault, outcomes))
        problems += [f"{fault.name}: {problem}" for outcome in outcomes for problem in outcome.unsafe]
        print(f"<!-- {fault.name}: {outcomes[0].errors[:1]} -->", flush=True)
    print(f"\nSurfaces: {', '.join(surfaces)}; {args.runs} run(s) each.\n")
    print(table(rows))
    for problem in problems:
        print(f"unsafe: {problem}")


if __name__ == "__main__":
    main()

"""Anki's start-up with and without the add-on, launched alternately in one run.

    .venv/bin/python -m bench.startup [--runs 10] [--env anki-26.5]

Prints the median time from launch to profile open, the difference and the ratio, then the time the
pipeline's first use takes to import (in Anki's background thread).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tests.e2e.anki_base import LOCAL_BUILD
from tests.e2e.envs import ensure_env
from tests.e2e.run_anki import run_anki


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--env", default="anki-26.5")
    args = parser.parse_args()
    python = ensure_env(args.env)
    times: dict[str, list[float]] = {"without add-on": [], "with add-on": []}
    first_use: list[float] = []
    for _ in range(args.runs):
        for label, addon in (("without add-on", None), ("with add-on", LOCAL_BUILD)):
            with tempfile.TemporaryDirectory() as tmp:
                run = run_anki(python, Path(tmp), steps=[], addon=addon)
                times[label].append(run.seconds_to_profile_open)
    for _ in range(min(args.runs, 3)):
        with tempfile.TemporaryDirectory() as tmp:
            run = run_anki(python, Path(tmp), steps=["first_use"])
            first_use.append(run.report["steps"]["first_use"]["seconds"])

    without, with_addon = (statistics.median(times[key]) for key in times)
    print(f"Anki {args.env}, {args.runs} launches each, fresh profile, offscreen\n")
    print("| | median launch → profile open |")
    print("|---|---|")
    print(f"| without add-on | {without * 1000:.0f} ms |")
    print(f"| with add-on | {with_addon * 1000:.0f} ms |")
    print(f"| difference | {(with_addon - without) * 1000:+.0f} ms |")
    print(f"| ratio | {with_addon / without:.3f} |")
    median_first_use = statistics.median(first_use)
    print(f"\nFirst use (menu → pipeline imported, in a background thread): median {median_first_use:.2f} s")


if __name__ == "__main__":
    main()

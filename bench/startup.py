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

CLOCK_ADDON = Path(__file__).resolve().parents[1] / "tests" / "e2e" / "clock_addon"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--env", default="anki-26.5")
    args = parser.parse_args()
    python = ensure_env(args.env)
    launch: dict[str, list[float]] = {"without add-on": [], "with add-on": []}
    load: dict[str, list[float]] = {"without add-on": [], "with add-on": []}
    for _ in range(args.runs):
        for label, addon in (("without add-on", None), ("with add-on", LOCAL_BUILD)):
            with tempfile.TemporaryDirectory() as tmp:
                clock = {"aaa_e2e_clock": CLOCK_ADDON}
                run = run_anki(python, Path(tmp), steps=[], addon=addon, extra_addons=clock)
                launch[label].append(run.seconds_to_profile_open)
                load[label].append(run.report["addons_load_seconds"])
    first_use: dict[str, list[float]] = {"just installed": [], "later sessions": []}
    for _ in range(min(args.runs, 3)):
        with tempfile.TemporaryDirectory() as tmp:
            for label in first_use:  # the second launch reuses the profile and Python's bytecode cache
                run = run_anki(python, Path(tmp), steps=["first_use"])
                first_use[label].append(run.report["steps"]["first_use"]["seconds"])

    print(f"Anki {args.env}, {args.runs} launches each, alternating, fresh profile, offscreen\n")
    print("| median | without add-on | with add-on | difference | ratio |")
    print("|---|---|---|---|---|")
    for name, samples in (("launch → profile open", launch), ("loading add-ons", load)):
        without, with_addon = (statistics.median(samples[label]) for label in samples)
        print(
            f"| {name} | {without * 1000:.1f} ms | {with_addon * 1000:.1f} ms "
            f"| {(with_addon - without) * 1000:+.1f} ms | {with_addon / without:.2f} |"
        )
    print("\nFirst use, menu → pipeline imported (in a background thread), median:")
    for label, samples in first_use.items():
        print(f"- {label}: {statistics.median(samples):.2f} s")


if __name__ == "__main__":
    main()

"""The Generate Cards window in a real Anki: how long the main thread stalls, and how fast cards are added.

    .venv/bin/python -m bench.ui [--env anki-26.5] [--cards 1000] [--launches 2]

Launches Anki (its own environment, the built add-on, the e2e driver add-on) on one profile several times:
the first launch is "just installed" (Python compiles the add-on's libraries on first use), the later ones
reuse the bytecode cache, as every later Anki session does. In each: open Tools → Generate Cards… (the
pipeline loads in a background thread), generate from a five-topic text twice against the local fake
OpenAI server (0.3 s per request), then add `--cards` drafts in one step. A 10 ms heartbeat timer on the
main thread gives the worst stall of each phase; two idle phases of 2 s, before and after, show what the
machine alone causes (on a busy 2-core machine that is not zero). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tests.e2e.anki_base import LOCAL_BUILD
from tests.e2e.envs import ensure_env
from tests.e2e.run_anki import run_anki
from tests.fake_openai import FakeOpenAI
from tests.pipeline_crew import FIVE_TOPICS, Crew

STEPS = ["idle", "first_use", "generate", "generate", "insert_many", "idle"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="anki-26.5")
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--launches", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--verbose", action="store_true", help="print each step's report too")
    parser.add_argument("--explain", action="store_true", help="print every thread's stack at each stall")
    args = parser.parse_args()
    python = ensure_env(args.env)
    rows: list[list[str]] = []
    statuses: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(latency=args.latency) as server:
        server.handler = Crew(cards_per_topic=9)
        config = {"base_url": server.url, "model": server.model, "api_key": "sk-bench"}
        for launch in range(args.launches):
            label = "just installed" if launch == 0 else f"later session {launch}"
            run = run_anki(
                python,
                Path(tmp),
                steps=STEPS,
                addon=LOCAL_BUILD,
                config=config,
                source_text=FIVE_TOPICS,
                insert_cards=args.cards,
                explain=args.explain,
            )
            for stall in run.report.get("stalls", []):
                print(f"\n=== main thread {stall['late_ms']} ms late")
                for thread, stack in stall["stacks"].items():
                    print(f"--- {thread}\n" + "".join(stack))
            steps = run.report["steps"]
            statuses.append({name: steps[name] for name in ("generate", "insert_many")})
            first_use, runs, insert = steps["first_use"], steps["generate"], steps["insert_many"]
            idle = max(step["worst_stall_ms"] for step in steps["idle"])
            rows.append([label, "idle, 2 × 2 s (the machine's own noise)", "", f"{idle:.0f} ms"])
            rows.append([label, "window opens", "", _ms(first_use, "opening_stall_ms")])
            loading = [label, "first use (pipeline loads)", f"{first_use['seconds']:.2f} s", _ms(first_use)]
            rows.append(loading)
            for number, generated in enumerate(runs, start=1):
                what = f"run {number} ({generated['generated']} cards)"
                rows.append([label, what, f"{generated['seconds']:.2f} s", _ms(generated)])
            rows.append([label, f"{insert['cards']:,} drafts shown", "", _ms(insert, "showing_stall_ms")])
            what = f"add {insert['cards']:,} cards ({insert['inserted']:,} added)"
            rows.append([label, what, f"{insert['seconds']:.3f} s", _ms(insert)])
    if args.verbose:
        print(json.dumps(statuses, indent=1))
    print(f"Anki {args.env}, offscreen, 10 ms heartbeat on the main thread\n")
    print("| launch | phase | time | worst main-thread stall |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _ms(step: dict[str, float], key: str = "worst_stall_ms") -> str:
    return f"{step[key]:.0f} ms"


if __name__ == "__main__":
    main()

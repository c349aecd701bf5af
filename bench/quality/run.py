"""Run this checkout's pipeline on one text against a relay endpoint (a helper answers as the model).

    python -m bench.quality.run --text bench/quality/texts/fresh-1.md --port 8765 --out RUN/

Writes RUN/result.json (the RunResult), RUN/usage.json and RUN/cards.md (the cards as a learner sees them,
for the blind judge). Limits are generous: a helper answering by hand takes minutes per request.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from addon.pipeline.models import BasicCard, RunResult, Source
from addon.pipeline.settings import LLMSettings, PipelineSettings
from addon.pipeline.workflow.runner import PipelineRun


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--text", required=True, type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--mode", default="planned", choices=["planned", "orchestrator"])
    args = parser.parse_args()
    settings = PipelineSettings(
        llm=LLMSettings(
            base_url=f"http://127.0.0.1:{args.port}/v1",
            model="relay-model",
            api_key="relay",
            request_timeout=3600,
            max_attempts=1,
        ),
        mode=args.mode,
        run_timeout=12 * 3600,
        max_requests_per_run=300,
    )
    started = time.monotonic()
    run = PipelineRun(
        [Source(text=args.text.read_text(encoding="utf-8"), title=args.text.stem)],
        settings,
        on_event=lambda event: print(time.strftime("%H:%M:%S"), event, flush=True),
    )
    run.start()
    result = run.result()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(result.model_dump_json(indent=1), encoding="utf-8")
    usage = {"usage": result.usage.model_dump(), "errors": [e.model_dump() for e in result.errors]}
    (args.out / "usage.json").write_text(json.dumps(usage, indent=1), encoding="utf-8")
    (args.out / "cards.md").write_text(cards_for_the_judge(args.text.name, result), encoding="utf-8")
    minutes = (time.monotonic() - started) / 60
    print(f"{len(result.cards)} notes, {result.usage.describe()}, {minutes:.1f} min")


def cards_for_the_judge(name: str, result: RunResult) -> str:
    """The notes as a learner sees them, nothing about how they were made."""
    lines = [f"# Cards made from: {name}", ""]
    for number, card in enumerate(result.cards, start=1):
        draft = card.draft
        if isinstance(draft, BasicCard):
            lines += [f"## Note {number} (basic, 1 card)", f"**Question:** {draft.question}", ""]
            lines += [f"**Answer:** {draft.answer}", ""]
        else:
            count = len(set(re.findall(r"\{\{c(\d+)::", draft.text))) or 1
            lines += [f"## Note {number} (cloze, {count} cards: one per cN number)"]
            lines += [f"**Text:** {draft.text}", ""]
        if draft.extra.strip():
            lines += ["**Extra:**", "", draft.extra, ""]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

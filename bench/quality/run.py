"""Run this checkout's pipeline on one text against a relay endpoint (a helper answers as the model).

    python -m bench.quality.run --text bench/quality/texts/fresh-1.md --port 8765 --out RUN/

Writes RUN/result.json (the RunResult), RUN/usage.json and RUN/cards.md (the cards as a learner sees them,
for the blind judge). Limits are generous: a helper answering by hand takes minutes per request.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from addon.pipeline.models import Source, StepError, Usage
from addon.pipeline.settings import LLMSettings, PipelineSettings
from addon.pipeline.workflow.runner import PipelineRun

from .cards_md import cards_for_the_judge


def relay_settings(port: int, **options: Any) -> PipelineSettings:
    """Settings for the relay on `port`: a helper answering by hand takes minutes per request."""
    llm = LLMSettings(
        base_url=f"http://127.0.0.1:{port}/v1",
        model="relay-model",
        api_key=SecretStr("relay"),
        request_timeout=3600,
        max_attempts=1,
    )
    return PipelineSettings(llm=llm, run_timeout=12 * 3600, max_requests_per_run=300, **options)


def print_event(event: object) -> None:
    print(time.strftime("%H:%M:%S"), event, flush=True)


def write_run(out: Path, name: str, result: BaseModel, usage: Usage, errors: Sequence[StepError]) -> None:
    """`out/name` (the whole result) and `out/usage.json` (its usage and errors, for score.py)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_text(result.model_dump_json(indent=1), encoding="utf-8")
    summary = {"usage": usage.model_dump(), "errors": [error.model_dump() for error in errors]}
    (out / "usage.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--text", required=True, type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--mode", default="planned", choices=["planned", "orchestrator"])
    args = parser.parse_args()
    started = time.monotonic()
    run = PipelineRun(
        [Source(text=args.text.read_text(encoding="utf-8"), title=args.text.stem)],
        relay_settings(args.port, mode=args.mode),
        on_event=print_event,
    )
    run.start()
    result = run.result()
    write_run(args.out, "result.json", result, result.usage, result.errors)
    cards = cards_for_the_judge(args.text.name, [card.draft for card in result.cards])
    (args.out / "cards.md").write_text(cards, encoding="utf-8")
    minutes = (time.monotonic() - started) / 60
    print(f"{len(result.cards)} notes, {result.usage.describe()}, {minutes:.1f} min")


if __name__ == "__main__":
    main()

"""Summarize the judge's verdicts: python -m bench.quality.score RUN [RUN ...]

Each RUN folder holds judgement.json (the judge's), usage.json and the text's name in cards.md. Prints one
Markdown row per run: notes, cards, usable-or-polish and unusable per card, defect letters per note,
requests, requests per 1,000 words and prompt tokens per usable card, key ideas covered.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TEXTS = Path(__file__).parent / "texts"
GOOD = ("usable", "polish")
Judged = dict[str, Any]
"""One note of a judgement.json: its class, defects and, for a cloze note, its cards."""


def cards_of(notes: Sequence[Judged]) -> list[Judged]:
    """The cards a learner reviews: a basic note is one, a cloze note one per cN number."""
    return [card for note in notes for card in (note.get("cards") or [note])]


def defects_of(notes: Sequence[Judged]) -> Counter[str]:
    """How many notes show each defect letter."""
    return Counter(letter for note in notes for letter in set(note.get("defects") or ""))


def letters(defects: Counter[str]) -> str:
    return " ".join(f"{letter}{n}" for letter, n in defects.most_common()) or "—"


def row(run: Path) -> str:
    judgement = json.loads((run / "judgement.json").read_text(encoding="utf-8"))
    usage = json.loads((run / "usage.json").read_text(encoding="utf-8"))["usage"]
    text_name = (run / "cards.md").read_text(encoding="utf-8").splitlines()[0].split(": ", 1)[1]
    words = len((TEXTS / text_name).read_text(encoding="utf-8").split())
    notes = judgement["notes"]
    cards = cards_of(notes)
    classes = Counter(card["class"] for card in cards)
    good = sum(classes[c] for c in GOOD)
    ideas = judgement.get("key_ideas", [])
    covered = sum(1 for idea in ideas if idea.get("covered_by"))
    return " | ".join(
        [
            f"| {run.name}",
            str(len(notes)),
            str(len(cards)),
            f"{100 * good / len(cards):.1f}%",
            f"{100 * classes['unusable'] / len(cards):.1f}%",
            letters(defects_of(notes)),
            str(usage["requests"]),
            f"{1000 * usage['requests'] / words:.1f}",
            str(round(usage["prompt_tokens"] / max(good, 1))),
            f"{covered}/{len(ideas)} |",
        ]
    )


def main() -> None:
    print(
        "| run | notes | cards | usable or polish | unusable | defects | requests | req / 1k words"
        " | prompt tokens / usable card | key ideas |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in sys.argv[1:]:
        print(row(Path(run)))


if __name__ == "__main__":
    main()

"""Summarize the judge's verdicts: python -m bench.quality.score RUN [RUN ...]

Each RUN folder holds judgement.json (the judge's), usage.json and the text's name in cards.md. Prints one
Markdown row per run: notes, cards, usable-or-polish and unusable per card, defect letters per note,
requests, requests per 1,000 words and prompt tokens per usable card, key ideas covered.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

TEXTS = Path(__file__).parent / "texts"
GOOD = ("usable", "polish")


def row(run: Path) -> str:
    judgement = json.loads((run / "judgement.json").read_text(encoding="utf-8"))
    usage = json.loads((run / "usage.json").read_text(encoding="utf-8"))["usage"]
    text_name = (run / "cards.md").read_text(encoding="utf-8").splitlines()[0].split(": ", 1)[1]
    words = len((TEXTS / text_name).read_text(encoding="utf-8").split())
    notes = judgement["notes"]
    cards = [card for note in notes for card in (note.get("cards") or [note])]
    classes = Counter(card["class"] for card in cards)
    defects = Counter(letter for note in notes for letter in set(note.get("defects") or ""))
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
            " ".join(f"{letter}{n}" for letter, n in defects.most_common()) or "—",
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

"""Summarize a blind judge's verdicts on re-reviewed notes: python -m bench.quality.review_score RUN [RUN ...]

Each RUN folder (written by review_run.py) holds key.json and the judge's judgement-A.json and
judgement-B.json. Prints two Markdown tables: before vs after per text and in total (notes, cards a learner
reviews, usable, usable-or-polish and unusable per card, defect letters per note), and the review's verdicts
with how many notes judged usable before are still usable after (a good reviewer leaves them alone).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .score import GOOD, Judged, cards_of, defects_of, letters

ACTIONS = ("keep", "rewrite", "split", "flag", "none")


@dataclass
class Run:
    """One text's review: the key and the judge's notes for the set before and the set after."""

    name: str
    key: dict[str, Any]
    before: list[Judged]
    after: list[Judged]

    @classmethod
    def read(cls, folder: Path) -> Run:
        key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
        sets = {}
        for which in ("before", "after"):
            judged = json.loads((folder / f"judgement-{key[which]}.json").read_text(encoding="utf-8"))
            sets[which] = sorted(judged["notes"], key=lambda note: int(note["note"]))
        return cls(key["text"].removesuffix(".md"), key, sets["before"], sets["after"])

    def kept_usable(self) -> tuple[int, int]:
        """Of the notes judged usable before: how many, and how many have only usable notes after."""
        usable = [n for n in self.key["notes"] if self.before[n["before"] - 1]["class"] == "usable"]
        still = [n for n in usable if all(self.after[a - 1]["class"] == "usable" for a in n["after"])]
        return len(usable), len(still)


def quality_row(label: str, notes: Sequence[Judged]) -> str:
    cards = cards_of(notes)
    classes = Counter(card["class"] for card in cards)

    def share(*names: str) -> str:
        return f"{100 * sum(classes[n] for n in names) / max(len(cards), 1):.1f}%"

    cells = [label, str(len(notes)), str(len(cards)), share("usable"), share(*GOOD), share("unusable")]
    return "| " + " | ".join([*cells, letters(defects_of(notes))]) + " |"


def verdict_row(label: str, runs: Sequence[Run]) -> str:
    actions = Counter(note["verdict"] for run in runs for note in run.key["notes"])
    usable, still = (sum(counts) for counts in zip(*(run.kept_usable() for run in runs), strict=True))
    cells = [label, *(str(actions[a]) for a in ACTIONS), f"{still} of {usable}"]
    return "| " + " | ".join(cells) + " |"


def main(folders: Sequence[str] | None = None) -> None:
    runs = [Run.read(Path(folder)) for folder in (folders or sys.argv[1:])]
    print("| text | notes | cards | usable | usable or polish | unusable | defects |")
    print("|---|---|---|---|---|---|---|")
    for label, group in [*((run.name, [run]) for run in runs), ("total", runs)]:
        print(quality_row(f"{label} before", [note for run in group for note in run.before]))
        print(quality_row(f"{label} after", [note for run in group for note in run.after]))
    print()
    print("| text | keep | rewrite | split | flag | no verdict | usable before, still usable after |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        print(verdict_row(run.name, [run]))
    print(verdict_row("total", runs))


if __name__ == "__main__":
    main()

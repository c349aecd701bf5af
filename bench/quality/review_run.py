"""Re-review a base run's notes against a relay endpoint, and write both sets for a blind judge.

    python -m bench.quality.review_run --from bench/quality/results/base-heldout-1 \\
        --text bench/quality/texts/heldout-1.md --port 8765 --out RUN/ [--notes 30]

Reads the base run's cards.md and judgement.json, picks every note judged below usable and an even spread of
usable ones, and reviews them with `ReviewJob` (as Browser → "Review selected cards with AI…" does, the text
as the notes' source). Writes RUN/review.json (the ReviewResult), RUN/usage.json, RUN/set-A.md and
RUN/set-B.md (the notes before and after the review, in an order a coin flip seeded by the text's name
decides) and RUN/key.json (which set is which, and where each note went). Give the judge only the two sets.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from addon.pipeline.models import ExistingNote, NoteCard, ReviewResult
from addon.pipeline.workflow.rereview import ReviewJob

from .cards_md import cards_for_the_judge, read_cards
from .run import print_event, relay_settings, write_run

SOURCE_ID = 1
"""One source note for all: the text is sent once per batch, as for notes generated from one text."""
USABLE_SHARE = 4
"""At least one picked note in this many is one judged usable, to see whether the review leaves them alone."""


def pick(classes: Sequence[str], count: int) -> list[int]:
    """Note numbers (from 1, in order): every note not judged usable, and usable ones evenly spread through
    the text up to `count` notes in all (at least a quarter of `count`)."""
    usable = [n for n, c in enumerate(classes, start=1) if c == "usable"]
    others = [n for n, c in enumerate(classes, start=1) if c != "usable"]
    wanted = min(len(usable), max(count - len(others), -(-count // USABLE_SHARE)))
    spread = [usable[(2 * i + 1) * len(usable) // (2 * wanted)] for i in range(wanted)]
    return sorted(others + spread)


def after_review(
    picked: Sequence[int], notes: Sequence[NoteCard], result: ReviewResult
) -> tuple[list[NoteCard], list[dict[str, Any]]]:
    """The notes after the review (keep and flag: as they were; rewrite: the new card; split: the new
    cards), and for each picked note its verdict and its numbers (from 1) in the after set."""
    verdicts = {verdict.note_id: verdict for verdict in result.verdicts}
    after: list[NoteCard] = []
    where = []
    for number in picked:
        verdict = verdicts.get(number)
        action = verdict.action if verdict else "none"
        if verdict and action in ("rewrite", "split"):
            new = [NoteCard.of(card.draft) for card in verdict.cards]
        else:
            new = [notes[number - 1]]
        where.append({"verdict": action, "after": list(range(len(after) + 1, len(after) + len(new) + 1))})
        after += new
    return after, where


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from", dest="base", required=True, type=Path, help="a run folder")
    parser.add_argument("--text", required=True, type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--notes", type=int, default=30)
    args = parser.parse_args(argv)

    name, notes = read_cards((args.base / "cards.md").read_text(encoding="utf-8"))
    if name != args.text.name:
        parser.error(f"{args.base}/cards.md was made from {name}, not {args.text.name}")
    judged = json.loads((args.base / "judgement.json").read_text(encoding="utf-8"))["notes"]
    classes = {note["note"]: note["class"] for note in judged}
    picked = pick([classes[n] for n in range(1, len(notes) + 1)], args.notes)
    source = args.text.read_text(encoding="utf-8")
    existing = [
        ExistingNote(note_id=n, card=notes[n - 1], source=source, source_id=SOURCE_ID) for n in picked
    ]
    print(f"{len(picked)} of {len(notes)} notes picked: {picked}", flush=True)

    started = time.monotonic()
    job = ReviewJob(existing, relay_settings(args.port), on_event=print_event)
    job.start()
    result = job.result()
    write_run(args.out, "review.json", result, result.usage, result.errors)

    after, where = after_review(picked, notes, result)
    before_is_a = random.Random(f"review-quality {name}").random() < 0.5
    sets = {"before": [n.card for n in existing], "after": after}
    labels = {"before": "A" if before_is_a else "B", "after": "B" if before_is_a else "A"}
    for which, cards in sets.items():
        text = cards_for_the_judge(name, [card.draft() for card in cards])
        (args.out / f"set-{labels[which]}.md").write_text(text, encoding="utf-8")
    key = {
        "text": name,
        **labels,
        "notes": [
            {"note": n, "base_class": classes[n], "before": i, **w}
            for i, (n, w) in enumerate(zip(picked, where, strict=True), start=1)
        ],
    }
    (args.out / "key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")
    minutes = (time.monotonic() - started) / 60
    print(f"{len(picked)} notes reviewed into {len(after)}, {result.usage.describe()}, {minutes:.1f} min")


if __name__ == "__main__":
    main()

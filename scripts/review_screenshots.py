"""The README's screenshots of the Review Cards window, taken in a real Anki (offscreen) against the local
fake OpenAI server, on notes that have been studied:

    .venv/bin/python -m scripts.review_screenshots [--out docs]

Writes review-fields.png (the fields asked before the first review of a note type), review-diff.png and
review-rendered.png (a rewrite as a word diff, and rendered by Anki side by side), review-diff-night.png and
review-rendered-night.png (a split, in night mode).
"""

from __future__ import annotations

from typing import Any

from scripts.screenshots import Shots, anki_for_shots, wait  # first: it sets Qt up for offscreen use
from tests.history import add_note, study
from tests.pipeline_crew import Crew
from tests.ui.anki_app import addon_module, shown, top_level

SIZE = (1180, 760)
NOTES = [
    (
        "Basic",
        {"Front": "What is the RSI?", "Back": "A momentum oscillator; it runs from 0 to 100; 14 periods"},
    ),
    (
        "Basic",
        {
            "Front": "What does the MACD line show?",
            "Back": "The difference between the 12-period EMA and the 26-period EMA, which traders read "
            "as the momentum of the trend, plotted with a signal line",
        },
    ),
    ("Basic", {"Front": "When did John Bollinger introduce his bands?", "Back": "In 1953"}),
    ("Cloze", {"Text": "A {{c1::golden cross}} is the 50-day average crossing above the 200-day average."}),
    ("Basic", {"Front": "What is a squeeze?", "Back": "Bands narrowing before a strong move"}),
]


VERDICTS = {
    "What is the RSI?": {
        "verdict": "split",
        "reasons": ["Three facts in one answer: what it is, its range, its period. One card each."],
        "cards": [
            {
                "kind": "basic",
                "front": "What kind of indicator is the RSI?",
                "back": "A momentum oscillator",
            },
            {
                "kind": "cloze",
                "front": "The RSI runs from {{c1::0 to 100}}.",
                "extra": "Above 70: overbought.",
            },
            {
                "kind": "basic",
                "front": "What is the RSI's standard lookback period?",
                "back": "14 periods",
            },
        ],
    },
    "What does the MACD line show?": {
        "verdict": "rewrite",
        "reasons": [
            "The answer packs the formula, its reading and the signal line: the card asks the formula."
        ],
        "cards": [
            {
                "kind": "basic",
                "front": "How is the MACD line computed?",
                "back": "The 12-period EMA minus the 26-period EMA",
            }
        ],
    },
    "When did John Bollinger introduce his bands?": {
        "verdict": "flag",
        "flag": "doubtful",
        "reasons": ["Bollinger introduced the bands in the 1980s; 1953 looks wrong."],
        "cards": [],
    },
}


def reviewer(notes: list[dict[str, Any]], feedback: str) -> dict[str, Any]:
    """A reviewer that writes what a good model would for these notes (the test crew's verdicts are
    mechanical)."""
    said = [VERDICTS.get(note["front"]) for note in notes]
    return {"verdicts": [{"note": n["note"], **v} for n, v in zip(notes, said, strict=True) if v]}


def main() -> None:
    with anki_for_shots(__doc__ or "", Crew(rereview=reviewer)) as shots:
        take_review_shots(shots)


def take_review_shots(shots: Shots) -> None:
    from aqt.theme import Theme, theme_manager

    mw, app = shots.mw, shots.app
    notes = [add_note(mw.col, kind, fields, deck="Trading::Indicators") for kind, fields in NOTES]
    for note in notes:
        study(mw.col, note)
    addon_module("ui.entry_points").open_review(mw, [note.id for note in notes])
    wait(app, lambda: shown("aicg_review_dialog"))
    dialog = top_level("aicg_review_dialog")
    dialog.resize(*SIZE)
    wait(app, lambda: dialog.field_dialog is not None)
    shots.shoot(dialog.field_dialog, "review-fields.png")
    dialog.field_dialog.accept()
    wait(app, lambda: dialog.session is not None)
    dialog.review_button.click()
    wait(app, lambda: dialog.run_state != "running")
    dialog.model.set_checked([2], True)  # the flag, accepted: the note gets the tag ai-review::flagged
    for row, theme, suffix in ((1, Theme.LIGHT, ""), (0, Theme.DARK, "-night")):  # a rewrite; a split
        mw.pm.set_theme(theme)
        theme_manager.apply_style()
        dialog.table.selectRow(row)
        for rendered, name in ((False, "diff"), (True, "rendered")):
            dialog.panel.set_rendered(rendered)
            shots.shoot(dialog, f"review-{name}{suffix}.png")
    mw.pm.set_theme(Theme.LIGHT)
    theme_manager.apply_style()
    dialog.reject()


if __name__ == "__main__":
    main()

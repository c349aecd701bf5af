"""The README's screenshots of the Review Cards window, taken in a real Anki (offscreen) against the local
fake OpenAI server, on notes that have been studied:

    .venv/bin/python -m scripts.review_screenshots [--out docs]

Writes review-fields.png (the fields asked before the first review of a note type), review-diff.png and
review-rendered.png (a rewrite as a word diff, and rendered by Anki side by side), review-diff-night.png and
review-rendered-night.png (a split, in night mode).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-screenshots-{os.getpid()}"  # read when aqt is imported

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.screenshots import settle, wait  # noqa: E402
from tests.build_fixtures import PACKAGE  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.history import add_note, study  # noqa: E402
from tests.pipeline_crew import Crew  # noqa: E402
from tests.ui.anki_app import addon_module, start_anki, stop_anki, top_level  # noqa: E402

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
                "question": "What kind of indicator is the RSI?",
                "answer": "A momentum oscillator",
            },
            {
                "kind": "cloze",
                "text": "The RSI runs from {{c1::0 to 100}}.",
                "extra": "Above 70: overbought.",
            },
            {
                "kind": "basic",
                "question": "What is the RSI's standard lookback period?",
                "answer": "14 periods",
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
                "question": "How is the MACD line computed?",
                "answer": "The 12-period EMA minus the 26-period EMA",
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
    said = [VERDICTS.get(note.get("question", "")) for note in notes]
    return {"verdicts": [{"note": n["note"], **v} for n, v in zip(notes, said, strict=True) if v]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="aicg-shots-"))
    mw = start_anki(base)
    from aqt.qt import QApplication
    from aqt.theme import Theme, theme_manager

    app = QApplication.instance()
    with FakeOpenAI(latency=0.05) as server:
        server.handler = Crew(rereview=reviewer)
        config = mw.addonManager.getConfig(PACKAGE) or {}
        mw.addonManager.writeConfig(
            PACKAGE, config | {"base_url": server.url, "model": "llama3.1", "api_key": "x"}
        )
        notes = [add_note(mw.col, kind, fields, deck="Trading::Indicators") for kind, fields in NOTES]
        for note in notes:
            study(mw.col, note)

        def shoot(widget: object, name: str) -> None:
            settle(app)
            widget.grab().save(str(args.out / name), "PNG", 0)  # type: ignore[attr-defined]
            print(f"wrote {args.out / name}")

        addon_module("ui.entry_points").open_review(mw, [note.id for note in notes])
        wait(app, lambda: _shown("aicg_review_dialog"))
        dialog = top_level("aicg_review_dialog")
        dialog.resize(*SIZE)
        wait(app, lambda: dialog.field_dialog is not None)
        shoot(dialog.field_dialog, "review-fields.png")
        dialog.field_dialog.accept()
        wait(app, lambda: dialog.session is not None)
        dialog.review_button.click()
        wait(app, lambda: dialog.run_state != "running")
        dialog.model.set_checked([2], True)  # the flag, accepted: the note gets the tag ai-review::flagged

        dialog.table.selectRow(1)
        shoot(dialog, "review-diff.png")
        dialog.panel.set_rendered(True)
        shoot(dialog, "review-rendered.png")

        mw.pm.set_theme(Theme.DARK)
        theme_manager.apply_style()
        dialog.panel.set_rendered(False)
        dialog.table.selectRow(0)
        shoot(dialog, "review-diff-night.png")
        dialog.panel.set_rendered(True)
        shoot(dialog, "review-rendered-night.png")
        mw.pm.set_theme(Theme.LIGHT)
        theme_manager.apply_style()
        dialog.reject()
    stop_anki(mw)
    shutil.rmtree(base, ignore_errors=True)


def _shown(name: str) -> bool:
    from aqt.qt import QApplication

    return any(w.objectName() == name and w.isVisible() for w in QApplication.topLevelWidgets())


if __name__ == "__main__":
    main()

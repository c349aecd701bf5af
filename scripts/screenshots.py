"""The README's screenshots of the Generate Cards window, taken in a real Anki (offscreen) against the local
fake OpenAI server:

    .venv/bin/python -m scripts.screenshots [--out docs]

Writes generate-text.png (pasted text), generate-notes.png (from notes selected in the Browser),
preview.png and preview-night.png (cards with flags, one rendered), regenerate.png (feedback for the
selected cards, then the cards made again).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-screenshots-{os.getpid()}"  # read when aqt is imported

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.build_fixtures import PACKAGE  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.pipeline_crew import FIVE_TOPICS, Crew  # noqa: E402
from tests.ui.anki_app import start_anki, stop_anki  # noqa: E402

SIZE = (1060, 720)


def wait(app: object, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def settle(app: object, seconds: float = 0.8) -> None:
    """Let the webview render what it was given."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


@dataclass
class Shots:
    """A real Anki whose add-on talks to the local fake server, and where the pictures go."""

    mw: Any
    app: Any
    out: Path

    def shoot(self, widget: Any, name: str) -> None:
        settle(self.app)
        widget.grab().save(str(self.out / name), "PNG", 0)
        print(f"wrote {self.out / name}")


@contextmanager
def anki_for_shots(description: str, crew: Crew) -> Iterator[Shots]:
    """A real Anki on a throwaway profile (offscreen), its add-on pointed at the local fake OpenAI server
    answered by `crew`; `--out` says where the pictures go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="aicg-shots-"))
    mw = start_anki(base)
    from aqt.qt import QApplication

    try:
        with FakeOpenAI(latency=0.05) as server:
            server.handler = crew
            config = mw.addonManager.getConfig(PACKAGE) or {}
            mw.addonManager.writeConfig(
                PACKAGE, config | {"base_url": server.url, "model": "llama3.1", "api_key": "x"}
            )
            yield Shots(mw, QApplication.instance(), args.out)
    finally:
        stop_anki(mw)
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    with anki_for_shots(__doc__ or "", Crew(cards_per_topic=4, broken={3})) as shots:
        take_generate_shots(shots)


def take_generate_shots(shots: Shots) -> None:
    import aqt
    from aqt.qt import QMenu
    from aqt.theme import Theme, theme_manager

    mw, app = shots.mw, shots.app

    def shoot(name: str) -> None:
        shots.shoot(generate_dialog(), name)

    def generate_dialog():  # type: ignore[no-untyped-def]
        return next(
            w for w in app.topLevelWidgets() if w.objectName() == "aicg_generate_dialog" and w.isVisible()
        )

    # From notes: select two notes in the Browser, right-click → Generate cards from selected notes.
    notetype = mw.col.models.by_name("Basic")
    deck = mw.col.decks.id("Trading::Indicators")
    note_ids = []
    for front, back in (
        (
            "RSI",
            "A momentum oscillator from 0 to 100.<br>## Relative Strength Index<br>Overbought above 70.",
        ),
        ("MACD", "Trend and momentum.<br>## MACD<br>12-period EMA minus 26-period EMA."),
    ):
        note = mw.col.new_note(notetype)
        note["Front"], note["Back"] = front, back
        mw.col.add_note(note, deck)
        note_ids.append(note.id)
    browser = aqt.dialogs.open("Browser", mw)
    browser.search_for(f"nid:{note_ids[0]},{note_ids[1]}")
    browser.table.select_all()
    menu = QMenu(browser)
    aqt.gui_hooks.browser_will_show_context_menu(browser, menu)
    next(a for a in menu.actions() if a.text() == "Generate cards from selected notes").trigger()
    browser.search_for("nid:0")  # no note in its editor: the Browser closes at once
    settle(app, 0.3)
    browser.close()
    dialog = generate_dialog()
    dialog.resize(*SIZE)
    wait(app, lambda: dialog.pipeline_state == "ready")
    shoot("generate-notes.png")

    # Pasted text, then the preview with cards and flags, one rendered.
    dialog.set_source_text(FIVE_TOPICS, "Reading a price chart")
    shoot("generate-text.png")
    dialog.generate_button.click()
    wait(app, lambda: dialog.run_state != "running")
    dialog.table.selectRow(2)
    shoot("preview.png")

    mw.pm.set_theme(Theme.DARK)
    theme_manager.apply_style()
    dialog.table.selectRow(1)
    dialog.table.selectRow(2)
    shoot("preview-night.png")
    mw.pm.set_theme(Theme.LIGHT)
    theme_manager.apply_style()

    # Regenerate: feedback for the selected cards, then the cards made again.
    dialog.table.clearSelection()
    dialog.table.select_rows([0, 1], current=0)
    dialog.feedback_edit.setText("make it a cloze")
    dialog.regenerate_button.click()
    wait(app, lambda: dialog.run_state != "running")
    dialog.table.selectRow(0)
    dialog.table.select_rows([1], current=0)
    shoot("regenerate.png")
    dialog.reject()


if __name__ == "__main__":
    main()

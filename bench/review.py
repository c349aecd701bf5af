"""Reviewing existing notes at scale: the Review Cards window in a real Anki (in this process, offscreen, the
add-on from source) against the local fake OpenAI server in its own process, which waits a fixed latency
before every reply and answers with the tests' crew.

    .venv/bin/python -m bench.review [--notes 500] [--latency 1.0] [--concurrency 4]

The collection gets `--notes` studied notes (each card answered through the v3 scheduler): a quarter whose
answer lists two facts (split), a quarter with long answers (rewrite), a quarter of cloze notes and a quarter
generated from source notes (kept; their sources go to the Reviewer once per batch). The window reviews all
of them, then applies every suggestion in one step. A 10 ms heartbeat timer on the main thread gives each
phase's worst stall; an idle phase first shows what the machine alone causes. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-bench-{os.getpid()}"  # read when aqt is imported

from scripts.screenshots import settle  # noqa: E402
from tests.build_fixtures import PACKAGE  # noqa: E402
from tests.crew_server import crew_server  # noqa: E402
from tests.history import GOOD, add_note, study  # noqa: E402
from tests.ui.anki_app import Heartbeat, addon_module, start_anki, stop_anki, top_level  # noqa: E402


def wait(app: Any, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run Qt's event loop until `condition` holds, as Anki's own loop runs (a loop of processEvents and
    sleeps would add its sleeps to the stalls measured)."""
    from aqt.qt import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the window did not get there in time")


def studied_notes(mw: Any, count: int) -> list[int]:
    col = mw.col
    sources = [
        add_note(
            col, "Basic", {"Front": f"Chapter {n}", "Back": f"The text of chapter {n}. " * 40}, deck="Sources"
        )
        for n in range(max(1, count // 40))
    ]
    ids = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            note = add_note(
                col, "Basic", {"Front": f"Which two facts about item {n}?", "Back": f"a{n}; b{n}"}
            )
        elif kind == 1:
            back = f"Item {n} is a long answer that says far more than the question asks for, in many words"
            note = add_note(col, "Basic", {"Front": f"What is item {n}?", "Back": back})
        elif kind == 2:
            note = add_note(col, "Cloze", {"Text": f"Item {{{{c1::{n}}}}} comes after item {n - 1}."})
        else:
            source = sources[n % len(sources)]
            tags = ["ai-generated", f"ai-source::{source.id}"]
            note = add_note(col, "Basic", {"Front": f"Item {n}?", "Back": "short"}, tags=tags)
        study(col, note, (GOOD, GOOD))
        ids.append(note.id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="aicg-bench-"))
    mw = start_anki(base)
    from aqt.qt import QApplication

    app = QApplication.instance()
    try:
        with crew_server(latency=args.latency) as url:
            config = mw.addonManager.getConfig(PACKAGE) or {}
            settings = {
                "base_url": url,
                "model": "bench",
                "api_key": "x",
                "max_concurrency": args.concurrency,
            }
            mw.addonManager.writeConfig(PACKAGE, config | settings)
            started = time.perf_counter()
            note_ids = studied_notes(mw, args.notes)
            print(f"{args.notes} studied notes made in {time.perf_counter() - started:.1f} s")
            field_map = addon_module("notes.field_map")
            mids = {mw.col.get_note(note_id).mid for note_id in note_ids}
            field_map.save_field_maps(mw.col, [field_map.field_map(mw.col, mid) for mid in mids])

            addon_module("ui.entry_points").open_review(mw, note_ids)
            wait(app, lambda: any(w.objectName() == "aicg_review_dialog" for w in app.topLevelWidgets()))
            dialog = top_level("aicg_review_dialog")
            wait(app, lambda: dialog.session is not None, timeout=120)
            settle(app, 1.5)  # the window's webview, and Anki's garbage collection after the Browser
            usage: list[Any] = []
            listen = dialog.run_progress
            dialog.run_progress = lambda event: (usage.append(event.usage), listen(event))  # type: ignore[method-assign]

            with Heartbeat() as idle:
                settle(app, 2.0)
            with Heartbeat() as reviewing:
                started = time.perf_counter()
                dialog.review_button.click()
                wait(app, lambda: dialog.run_state != "running", timeout=600)
                wall = time.perf_counter() - started
            run = dialog.session.run
            reviewed = len(run.rows) - len(run.unreviewed())
            to_apply = len(run.to_apply())
            with Heartbeat() as applying:
                started = time.perf_counter()
                dialog.apply_button.click()
                wait(app, lambda: not dialog.applying, timeout=120)
                apply_seconds = time.perf_counter() - started
            status = dialog.status_text()
            dialog.reject()
            settle(app, 1.5)
    finally:
        stop_anki(mw)
        shutil.rmtree(base, ignore_errors=True)

    spent = usage[-1]
    print(f"\n{status}\n")
    print(
        "| notes | reviewed | wall time | latencies | requests | requests/note | prompt tokens/note "
        f"| completion tokens/note | worst stall: idle | reviewing | applying ({to_apply} suggestions) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.notes} | {reviewed} | {wall:.1f} s | {wall / args.latency:.1f} | {spent.requests} "
        f"| {spent.requests / args.notes:.3f} | {spent.prompt_tokens / args.notes:.0f} "
        f"| {spent.completion_tokens / args.notes:.0f} | {idle.worst_ms - 10:.0f} ms "
        f"| {reviewing.worst_ms - 10:.0f} ms | {applying.worst_ms - 10:.0f} ms ({apply_seconds:.2f} s) |"
    )


if __name__ == "__main__":
    main()

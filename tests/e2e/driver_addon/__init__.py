"""A test driver installed as a second add-on: it drives a real Anki like a user and writes a report.

The scenario comes from the JSON file named by AICG_E2E_CONFIG: {"report": path, "steps": [...],
"source_text": str, "insert_cards": int, "explain": bool}. Steps:
- "idle": two seconds of nothing (a baseline for the stalls);
- "first_use": open Tools → Generate Cards… and wait for the pipeline to load;
- "settings": Tools → Add-ons, select the add-on, Config: test the connection and save;
- "generate": generate from `source_text` and add the cards;
- "quit_mid_run": generate, and let Anki quit as soon as the first cards are in;
- "failing_server": generate from `fault_texts["failing_server"]` (the server fails it), report what is shown;
- "hostile": generate from `fault_texts["hostile"]` (the server answers with hostile markup), report what the
  window's preview page holds (scripts, event handlers, remote images, a flag a script would have set),
  add the cards, report their fields and HTML as Anki renders them, then show the first in the reviewer
  and report what its page holds;
- "switch_profile_mid_run": generate, switch to a new profile as soon as the first cards are in, open the
  window there and report the drafts notice;
- "from_browser": notes selected in the Browser → context menu → generate → add, then from a generated
  note back to its source and from the source to its cards;
- "insert_many": `insert_cards` drafts added in one step, timed;
- "review": studied notes selected in the Browser → context menu → Review selected cards with AI… → fields
  confirmed → Review → Apply (splits suspended), the cards' history compared, then Edit → Undo.
Anki quits when done. A 10 ms heartbeat timer runs throughout: each step reports the main thread's worst
stall.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from aqt import gui_hooks, mw
from aqt.addons import AddonsDialog
from aqt.qt import QApplication, QLineEdit, QMenu, QMessageBox, QTimer, QWidget

CONFIG = json.loads(Path(os.environ["AICG_E2E_CONFIG"]).read_text())
HEAVY_MODULES = (
    "llama_index",
    "pydantic",
    "pydantic_core",
    "numpy",
    "openai",
    "httpx",
    "tenacity",
    "sqlalchemy",
    "PIL",
    "workflows",
    "tiktoken",
    "nltk",
)
MENU_TEXT = "Generate Cards…"
REVIEW_TEXT = "Review selected cards with AI…"
PACKAGE = "ai_card_generator"
POLL_MS = 50
HEARTBEAT_MS = 10
STEP_TIMEOUT = 120.0

report: dict = {"steps": {}, "messages": []}
if clock := sys.modules.get("aaa_e2e_clock"):  # installed by bench/startup.py: add-ons in between are timed
    report["addons_load_seconds"] = time.perf_counter() - clock.LOADED_AT
Wait = Callable[[], bool]


def _write_report() -> None:
    Path(CONFIG["report"]).write_text(json.dumps(report, indent=2, default=str))


def _dialog(name: str = "aicg_generate_dialog") -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == name and widget.isVisible():
            return widget
    return None


def _addons_dialog() -> AddonsDialog | None:
    shown = (w for w in QApplication.topLevelWidgets() if isinstance(w, AddonsDialog) and w.isVisible())
    return next(shown, None)


def _close_message_boxes() -> None:
    """Record and close any message box, so a modal dialog can't hang the run."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            report["messages"].append(widget.text())
            widget.close()


def _where(name: str) -> str | None:
    """Where an imported module came from (a namespace package has a path, no file); None if not imported."""
    module = sys.modules.get(name)
    if module is None:
        return None
    return getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "?")


def _modules_report() -> dict[str, str | None]:
    return {name: _where(name) for name in HEAVY_MODULES}


class Heartbeat:
    """The longest gap between two ticks of a 10 ms timer on the main thread: how long it stalled."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer = QTimer(mw)
        self.timer.timeout.connect(self._tick)
        self.timer.start(HEARTBEAT_MS)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last - HEARTBEAT_MS / 1000)
        self.last = now

    def explain(self) -> None:
        """Record what every thread was doing whenever the main thread is late (bench --explain)."""
        import threading
        import traceback

        def sample() -> None:
            main = threading.main_thread().ident
            while True:
                time.sleep(0.005)
                late = time.perf_counter() - self.last
                if late > 0.04:
                    stacks = {
                        ("main" if ident == main else str(ident)): traceback.format_stack(frame)[-14:]
                        for ident, frame in sys._current_frames().items()
                        if ident != threading.get_ident()
                    }
                    report.setdefault("stalls", []).append({"late_ms": round(late * 1000), "stacks": stacks})

        threading.Thread(target=sample, daemon=True).start()

    def take(self) -> float:
        """The worst stall since the last call, in ms."""
        worst, self.worst = self.worst, 0.0
        return round(worst * 1000, 1)


heartbeat: Heartbeat | None = None


def step_first_use() -> Iterator[Wait]:
    action = next(a for a in mw.form.menuTools.actions() if a.text() == MENU_TEXT)
    started = time.monotonic()
    action.trigger()
    yield lambda: _dialog() is not None
    yield lambda: True  # one more pass of the event loop: the heartbeat sees the window open
    opening = heartbeat.take() if heartbeat else None
    dialog = _dialog()
    yield lambda: dialog.pipeline_state in ("ready", "failed")
    report["steps"]["first_use"] = {
        "state": dialog.pipeline_state,
        "seconds": time.monotonic() - started,
        "status": dialog.status_text(),
        "modules": _modules_report(),
        "opening_stall_ms": opening,
        "worst_stall_ms": heartbeat.take() if heartbeat else None,
    }


def _generate_and_add(dialog: QWidget, name: str) -> Iterator[Wait]:
    notes_before = mw.col.note_count()
    started = time.monotonic()
    dialog.generate_button.click()
    yield lambda: dialog.run_state != "running"
    seconds = time.monotonic() - started
    stall = heartbeat.take() if heartbeat else None
    generated = len(dialog.drafts())
    dialog.insert_button.click()
    yield lambda: not dialog.adding and not dialog.drafts()  # added cards leave the preview
    report["steps"].setdefault(name, []).append(
        {
            "generated": generated,
            "inserted": mw.col.note_count() - notes_before,
            "status": dialog.status_text(),
            "seconds": seconds,
            "worst_stall_ms": stall,
        }
    )


def step_generate() -> Iterator[Wait]:
    dialog = _dialog()
    dialog.set_source_text(CONFIG["source_text"], "E2E text")
    yield from _generate_and_add(dialog, "generate")


def _context_action(browser: QWidget, text: str) -> None:
    menu = QMenu(browser)
    gui_hooks.browser_will_show_context_menu(browser, menu)
    next(action for action in menu.actions() if action.text() == text).trigger()


def step_from_browser() -> Iterator[Wait]:
    import aqt

    notetype = mw.col.models.by_name("Basic")
    sources = []
    for number, section in enumerate(CONFIG["source_text"].split("\n## ")[1:3]):
        note = mw.col.new_note(notetype)
        note["Front"] = f"Source note {number + 1}"
        note["Back"] = "Notes.<br>## Notes on " + section.replace("\n", "<br>")  # not the text's topics
        mw.col.add_note(note, mw.col.decks.id("From notes"))
        sources.append(note.id)
    browser = aqt.dialogs.open("Browser", mw)
    browser.search_for(f"nid:{sources[0]},{sources[1]}")
    browser.table.select_all()
    in_notes_menu = any(
        a.text() == "Generate cards from selected notes" for a in browser.form.menu_Notes.actions()
    )
    _context_action(browser, "Generate cards from selected notes")
    yield (
        lambda: (
            _dialog() is not None
            and _dialog().pipeline_state == "ready"
            and _dialog().source_picker.from_notes()
        )
    )
    dialog = _dialog()
    picked = [note.note_id for note in dialog.source_picker.notes()]
    yield from _generate_and_add(dialog, "from_browser_run")
    browser.search_for(f"nid:{sources[0]}")
    browser.table.select_all()
    _context_action(browser, "Find cards generated from these notes")
    generated = list(mw.col.find_notes(browser.current_search()))
    browser.search_for(f"nid:{generated[0]}" if generated else "nid:0")
    browser.table.select_all()
    _context_action(browser, "Go to source note")
    back = list(mw.col.find_notes(browser.current_search()))
    note = mw.col.get_note(generated[0]) if generated else None
    report["steps"]["from_browser"] = {
        "in_notes_menu": in_notes_menu,
        "sources": sources,
        "picked": picked,
        "generated_from_first": len(generated),
        "source_field": note["Source"] if note else None,
        "deck": mw.col.decks.name(note.cards()[0].did) if note else None,
        "back_to_source": back,
    }
    # With no note in its editor the Browser closes at once; with one, it first waits for the editor's page
    # to save the note, which never answers if the page is still loading.
    browser.search_for("nid:0")
    yield lambda: browser.editor.note is None if hasattr(browser.editor, "note") else True
    browser.close()


def step_quit_mid_run() -> Iterator[Wait]:
    """Generate, and quit Anki as soon as the first cards are in: they must be in the drafts journal."""
    dialog = _dialog()
    dialog.set_source_text(CONFIG["source_text"], "Quit mid-run")
    dialog.generate_button.click()
    yield lambda: len(dialog.drafts()) > 0
    report["steps"]["quit_mid_run"] = {
        "shown": len(dialog.drafts()),
        "running": dialog.run_state == "running",
    }


def step_failing_server() -> Iterator[Wait]:
    dialog = _dialog()
    dialog.set_source_text(CONFIG["fault_texts"]["failing_server"], "Failing server")
    dialog.generate_button.click()
    yield lambda: dialog.run_state != "running"
    report["steps"]["failing_server"] = {
        "state": dialog.run_state,
        "status": dialog.status_text(),
        "shown": len(dialog.drafts()),
        "generate_enabled": dialog.generate_button.isEnabled(),
    }


QA_CHECK = r"""(() => {
  const qa = document.getElementById("qa");
  if (!qa || !qa.innerText.trim()) return null;
  const all = [...qa.querySelectorAll("*")];
  const source = (e) => e.getAttribute("src") || "";
  return {
    text: qa.innerText.slice(0, 300),
    active: qa.querySelectorAll("script,iframe,object,embed,form,link,meta,base").length,
    handlers: all.filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith("on"))).length,
    remote: all.filter((e) => /^\s*(https?:|\/\/|\\|\/\\|javascript:|data:)/i.test(source(e))).length,
    script_links: all.filter((e) => /^\s*javascript:/i.test(e.getAttribute("href") || "")).length,
    flag: window.aicgPwned || 0,
  };
})()"""
"""What the reviewer's page shows of a card: anything that could run or fetch, and the hostile flag."""


def _page_check(web: QWidget, into: dict) -> Iterator[Wait]:
    """Evaluate QA_CHECK in `web` until the card is on the page; the result goes into `into["page"]`."""
    asked: list[float] = []

    def ready() -> bool:
        if into.get("page"):
            return True
        if not asked or time.monotonic() - asked[-1] > 0.3:
            asked.append(time.monotonic())
            web.evalWithCallback(QA_CHECK, lambda found: into.__setitem__("page", found))
        return False

    yield ready


def step_hostile() -> Iterator[Wait]:
    dialog = _dialog()
    deck_id = mw.col.decks.id("Hostile output")
    dialog.set_source_text(CONFIG["fault_texts"]["hostile"], "Hostile output")
    dialog.deck_chooser.selected_deck_id = deck_id
    dialog.generate_button.click()
    yield lambda: dialog.run_state != "running"
    generated, status = len(dialog.drafts()), dialog.status_text()
    preview: dict = {}  # the window's own preview of the first card, in Anki's reviewer page
    yield lambda: "aicg-preview-side" in dialog.card_view.shown  # a card, not the placeholder message
    yield from _page_check(dialog.card_view.web, preview)
    dialog.insert_button.click()
    yield lambda: not dialog.adding and not dialog.drafts()
    note_ids = list(mw.col.find_notes(f"did:{deck_id}"))
    rendered = []
    for note_id in note_ids:
        for card in mw.col.get_note(note_id).cards():
            rendered.append(
                {
                    "fields": mw.col.get_note(note_id).fields,
                    "question": card.question(),
                    "answer": card.answer(),
                    "sounds": len(card.question_av_tags()) + len(card.answer_av_tags()),
                }
            )
    mw.col.decks.select(deck_id)
    mw.moveToState("review")
    yield lambda: mw.reviewer.card is not None and mw.reviewer.state == "question"
    question: dict = {}
    yield from _page_check(mw.reviewer.web, question)
    mw.reviewer._showAnswer()
    answer: dict = {}
    yield lambda: mw.reviewer.state == "answer"
    yield from _page_check(mw.reviewer.web, answer)
    mw.moveToState("deckBrowser")
    report["steps"]["hostile"] = {
        "generated": generated,
        "status": status,
        "notes": len(note_ids),
        "cards": rendered,
        "preview": preview["page"],
        "reviewer_question": question["page"],
        "reviewer_answer": answer["page"],
    }


def step_switch_profile_mid_run() -> Iterator[Wait]:
    """Generate, and switch to another profile as soon as the first cards are in; there, the window offers
    them (the journal is the add-on's, shared by profiles)."""
    dialog = _dialog()
    dialog.set_source_text(CONFIG["source_text"], "Switched mid-run")
    dialog.generate_button.click()
    yield lambda: len(dialog.drafts()) > 0
    shown, running = len(dialog.drafts()), dialog.run_state == "running"
    mw.pm.create("User 2")
    mw.unloadProfileAndShowProfileManager()  # File → Switch Profile
    yield lambda: getattr(mw, "profileDiag", None) is not None and mw.profileDiag.isVisible()
    form = mw.profileForm
    form.profiles.setCurrentRow(mw.pm.profiles().index("User 2"))
    form.login.click()  # Open
    yield lambda: mw.col is not None and mw.pm.name == "User 2" and mw.state != "profileManager"
    action = next(a for a in mw.form.menuTools.actions() if a.text() == MENU_TEXT)
    action.trigger()
    yield lambda: _dialog() is not None and _dialog().pipeline_state == "ready"
    reopened = _dialog()
    yield lambda: bool(reopened.notices.text("drafts"))
    report["steps"]["switch_profile_mid_run"] = {
        "shown": shown,
        "running": running,
        "profile": mw.pm.name,
        "notice": reopened.notices.text("drafts"),
    }


def step_insert_many() -> Iterator[Wait]:
    """`insert_cards` drafts (formatted beforehand, not timed) added in one step; the add is timed."""
    addon = importlib.import_module(PACKAGE)
    drafts = importlib.import_module(f"{addon.__name__}.drafts")
    models = importlib.import_module(f"{addon.__name__}.pipeline.models")
    formatting = importlib.import_module(f"{addon.__name__}.pipeline.cards.formatting")
    dialog = _dialog()
    count = CONFIG.get("insert_cards", 1000)
    stamp = time.time()  # fronts new in every launch, so none is a duplicate
    drafts_made = [
        models.BasicCard(question=f"Question {n} at {stamp}?", answer=f"Answer {n}") for n in range(count)
    ]
    cards = formatting.format_cards([models.Card(id=f"bench{n}", draft=d) for n, d in enumerate(drafts_made)])
    run = drafts.DraftRun(title="Bench", sources=[models.Source(text="bench", title="Bench")])
    run.cards = [drafts.DraftCard(card=card) for card in cards]
    yield lambda: True  # the heartbeat sees the time formatting took (the driver's, not the window's)
    heartbeat.take()
    dialog._show_session(drafts.DraftSession(dialog.journal, run))
    yield lambda: True  # the heartbeat sees the drafts shown
    showing = heartbeat.take()
    notes_before = mw.col.note_count()
    started = time.perf_counter()
    dialog.insert_button.click()
    yield lambda: not dialog.adding
    seconds = time.perf_counter() - started
    report["steps"]["insert_many"] = {
        "cards": count,
        "inserted": mw.col.note_count() - notes_before,
        "seconds": seconds,
        "showing_stall_ms": showing,
        "worst_stall_ms": heartbeat.take(),
        "status": dialog.status_text(),
    }


def step_idle() -> Iterator[Wait]:
    """Two seconds of nothing: the stalls the machine itself causes (a baseline for the other steps)."""
    heartbeat.take()
    until = time.monotonic() + 2.0
    yield lambda: time.monotonic() > until
    report["steps"].setdefault("idle", []).append({"worst_stall_ms": heartbeat.take()})


def step_settings() -> Iterator[Wait]:
    mw.form.actionAdd_ons.trigger()  # Tools → Add-ons
    yield lambda: _addons_dialog() is not None
    addons = _addons_dialog()
    row = next(i for i, a in enumerate(addons.addons) if a.human_name() == "AI Card Generator")
    addons.form.addonList.setCurrentRow(row)
    addons.form.config.click()
    yield lambda: _dialog("aicg_settings_dialog") is not None
    settings = _dialog("aicg_settings_dialog")
    yield lambda: settings.state != "loading" and settings.local.servers is not None
    yield lambda: "Asking" not in settings.model_hint.text()
    opened = {
        "state": settings.state,
        "status": settings.status_text(),
        "key_masked": settings.api_key.echoMode() == QLineEdit.EchoMode.Password,
        "models": [settings.model.itemText(i) for i in range(settings.model.count())],
        "model_hint": settings.model_hint.text(),
    }
    settings.test_button.click()
    yield lambda: not settings.testing
    verdict = settings.verdict_text()
    settings.save_button.click()
    yield lambda: _dialog("aicg_settings_dialog") is None
    addons.close()
    config = mw.addonManager.getConfig(mw.addonManager.addonFromModule(type(settings).__module__))
    report["steps"]["settings"] = opened | {
        "verdict": verdict,
        "saved_structured_output": config["structured_output"],
    }


def _studied(notetype: str, fields: dict[str, str]) -> int:
    """A note in deck "Studied" whose cards were answered a few times through the v3 scheduler."""
    from anki.scheduler.v3 import CardAnswer

    note = mw.col.new_note(mw.col.models.by_name(notetype))
    for name, value in fields.items():
        note[name] = value
    mw.col.add_note(note, mw.col.decks.id("Studied"))
    for card_id in note.card_ids():
        for rating in (CardAnswer.EASY, CardAnswer.GOOD, CardAnswer.AGAIN, CardAnswer.GOOD):
            card = mw.col.get_card(card_id)
            card.start_timer()
            states = mw.col._backend.get_scheduling_states(card.id)
            mw.col.sched.answer_card(mw.col.sched.build_answer(card=card, states=states, rating=rating))
    return note.id


def _history(note_id: int) -> list:
    """Each card's id, due, interval, ease and review log: what a review must keep."""
    rows = mw.col.db.all(
        "select c.id, c.due, c.ivl, c.factor, (select group_concat(r.id) from revlog r where r.cid = c.id)"
        " from cards c where c.nid = ? order by c.ord",
        note_id,
    )
    return [list(row) for row in rows]


def step_review() -> Iterator[Wait]:
    import aqt

    notes = {
        "split": _studied("Basic", {"Front": "RSI: range and period?", "Back": "0 to 100; 14 days"}),
        "rewrite": _studied(
            "Basic",
            {
                "Front": "What does RSI measure?",
                "Back": "The speed and size of recent price changes of one stock over a period",
            },
        ),
        "keep": _studied("Cloze", {"Text": "{{c1::Paris}} is the capital of France"}),
    }
    before = {name: _history(nid) for name, nid in notes.items()}
    count_before = mw.col.note_count()
    browser = aqt.dialogs.open("Browser", mw)
    browser.search_for("deck:Studied")
    browser.table.select_all()
    in_notes_menu = any(a.text() == REVIEW_TEXT for a in browser.form.menu_Notes.actions())
    _context_action(browser, REVIEW_TEXT)
    browser.search_for("nid:0")
    yield lambda: browser.editor.note is None if hasattr(browser.editor, "note") else True
    browser.close()
    yield lambda: _dialog("aicg_review_dialog") is not None
    dialog = _dialog("aicg_review_dialog")
    yield lambda: dialog.field_dialog is not None
    dialog.field_dialog.accept()
    yield lambda: dialog.session is not None
    started = time.monotonic()
    if heartbeat:
        heartbeat.take()
    dialog.review_button.click()
    yield lambda: dialog.run_state == "idle" and not dialog.driver.running
    seconds = time.monotonic() - started
    stall = heartbeat.take() if heartbeat else None
    actions = {row.note.note_id: row.action for row in dialog.session.run.rows}
    verdicts = {name: actions.get(note_id) for name, note_id in notes.items()}
    dialog.suspend_box.setChecked(True)
    dialog.apply_button.click()
    yield lambda: not dialog.applying
    status = dialog.status_text()
    dialog.reject()
    applied = {name: _history(nid) for name, nid in notes.items()}
    split = mw.col.get_note(notes["split"])
    report["steps"]["review"] = {
        "in_notes_menu": in_notes_menu,
        "verdicts": verdicts,
        "status": status,
        "seconds": seconds,
        "worst_stall_ms": stall,
        "ids_and_revlog_kept": all(
            [[c[0], c[4]] for c in applied[name]] == [[c[0], c[4]] for c in before[name]] for name in notes
        ),
        "rewrite_history_same": applied["rewrite"] == before["rewrite"],
        "rewritten_back": mw.col.get_note(notes["rewrite"])["Back"],
        "split_tags": split.tags,
        "split_suspended": all(card.queue == -1 for card in split.cards()),
        "notes_added": mw.col.note_count() - count_before,
        "undo_name": mw.col.undo_status().undo,
    }
    mw.form.actionUndo.trigger()  # Edit → Undo
    yield lambda: mw.col.undo_status().undo != report["steps"]["review"]["undo_name"]
    report["steps"]["review"] |= {
        "after_undo_same": {name: _history(nid) for name, nid in notes.items()} == before,
        "after_undo_notes": mw.col.note_count() - count_before,
        "after_undo_back": mw.col.get_note(notes["rewrite"])["Back"],
    }


STEPS = {
    "idle": step_idle,
    "first_use": step_first_use,
    "settings": step_settings,
    "generate": step_generate,
    "from_browser": step_from_browser,
    "insert_many": step_insert_many,
    "quit_mid_run": step_quit_mid_run,
    "failing_server": step_failing_server,
    "hostile": step_hostile,
    "switch_profile_mid_run": step_switch_profile_mid_run,
    "review": step_review,
}


def _run(steps: Iterator[Iterator[Wait]]) -> None:
    """Run generator steps one after the other, polling each yielded condition on the Qt event loop."""
    current: Iterator[Wait] | None = None
    waiting: Wait | None = None
    deadline = 0.0

    def tick() -> None:
        nonlocal current, waiting, deadline
        _close_message_boxes()
        try:
            if waiting is not None and not waiting():
                if time.monotonic() > deadline:
                    raise TimeoutError("step timed out")
                return
            if current is None:
                current = next(steps)
            waiting = next(current)
            deadline = time.monotonic() + STEP_TIMEOUT
        except StopIteration:
            if current is None:
                return _finish(timer)
            current, waiting = None, None
        except Exception:
            report["driver_error"] = traceback.format_exc()
            _finish(timer)

    timer = QTimer(mw)
    timer.timeout.connect(tick)
    timer.start(POLL_MS)


def _finish(timer: QTimer) -> None:
    timer.stop()
    _write_report()
    mw.unloadProfileAndExit()


def _on_profile_open() -> None:
    global heartbeat
    if heartbeat is not None:  # another profile opened by a step: the steps go on
        return
    report["profile_open_time"] = time.time()
    heartbeat = Heartbeat()
    if CONFIG.get("explain"):
        heartbeat.explain()
    report["modules_at_startup"] = _modules_report()
    report["menu_entry"] = any(a.text() == MENU_TEXT for a in mw.form.menuTools.actions())
    _write_report()
    _run(STEPS[name]() for name in CONFIG["steps"])


gui_hooks.profile_did_open.append(_on_profile_open)

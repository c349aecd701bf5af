"""A test driver installed as a second add-on: it drives a real Anki like a user and writes a report.

The scenario comes from the JSON file named by AICG_E2E_CONFIG: {"report": path, "steps": [...],
"source_text": str}. Steps: "first_use" (open Tools → Generate Cards… and wait for the pipeline to
load), "settings" (Tools → Add-ons, select the add-on, Config: test the connection and save), "generate"
(generate from `source_text` and insert the cards). Anki quits when done.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from aqt import gui_hooks, mw
from aqt.addons import AddonsDialog
from aqt.qt import QApplication, QLineEdit, QMessageBox, QTimer, QWidget

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
POLL_MS = 50
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


def step_first_use() -> Iterator[Wait]:
    action = next(a for a in mw.form.menuTools.actions() if a.text() == MENU_TEXT)
    started = time.monotonic()
    action.trigger()
    yield lambda: _dialog() is not None
    dialog = _dialog()
    yield lambda: dialog.pipeline_state in ("ready", "failed")
    report["steps"]["first_use"] = {
        "state": dialog.pipeline_state,
        "seconds": time.monotonic() - started,
        "status": dialog.status_text(),
        "modules": _modules_report(),
    }


def step_generate() -> Iterator[Wait]:
    dialog = _dialog()
    notes_before = mw.col.note_count()
    dialog.set_source_text(CONFIG["source_text"])
    dialog.generate_button.click()
    yield lambda: dialog.run_state == "idle"
    generated = len(dialog.cards)
    dialog.insert_button.click()
    yield lambda: not dialog.cards  # the dialog empties its list once the add operation has finished
    report["steps"]["generate"] = {
        "generated": generated,
        "inserted": mw.col.note_count() - notes_before,
        "status": dialog.status_text(),
        "fronts": [n.fields[0] for n in (mw.col.get_note(i) for i in mw.col.find_notes(""))],
    }


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


STEPS = {"first_use": step_first_use, "settings": step_settings, "generate": step_generate}


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
    report["profile_open_time"] = time.time()
    report["modules_at_startup"] = _modules_report()
    report["menu_entry"] = any(a.text() == MENU_TEXT for a in mw.form.menuTools.actions())
    _write_report()
    _run(STEPS[name]() for name in CONFIG["steps"])


gui_hooks.profile_did_open.append(_on_profile_open)

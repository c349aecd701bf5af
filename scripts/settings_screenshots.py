"""Screenshots of the settings window for the README, in light and night mode, taken offscreen.

    .venv/bin/python scripts/settings_screenshots.py [--out docs]

A real Anki runs in this process on a throwaway profile, with the add-on from source; the local
OpenAI-compatible test server plays an Ollama on its usual port (a free one if 11434 is taken), so the
window finds it, lists its models, and Test connection reports what a working server gets.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["ANKI_SINGLE_INSTANCE_KEY"] = f"aicg-screenshots-{os.getpid()}"  # read when aqt is imported

from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402
from tests.ui.anki_app import addon_module, start_anki, stop_anki, top_level  # noqa: E402

MODELS = ["llama3.1:8b", "mistral-nemo:12b", "qwen2.5:7b"]
TABS = {"connection": 0, "cards": 1, "limits": 2}
SHOTS = (("connection", "light"), ("connection", "night"), ("cards", "light"), ("limits", "night"))
SIZE = (640, 580)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aicg-shots-") as base, _ollama() as server:
        mw = start_anki(Path(base))
        try:
            for name, theme in SHOTS:
                _set_theme(mw, night=theme == "night")
                path = args.out / f"settings-{name}-{theme}.png"
                _shoot(mw, server, TABS[name], path)
                print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
        finally:
            stop_anki(mw)
    return 0


def _ollama() -> FakeOpenAI:
    try:
        server = FakeOpenAI(model=MODELS[0], port=11434)
    except OSError:  # a real server uses the port: play one elsewhere
        server = FakeOpenAI(model=MODELS[0])
    server.models = MODELS
    server.handler = lambda request: Reply.json({"ok": True}, delay=0.4)
    return server


def _set_theme(mw, *, night: bool) -> None:
    from aqt.theme import Theme, theme_manager

    mw.pm.set_theme(Theme.DARK if night else Theme.LIGHT)
    theme_manager.apply_style()


def _shoot(mw, server: FakeOpenAI, tab: int, path: Path) -> None:
    """Open the window on a first-run config, use the Ollama found, test it, and grab the window."""
    row = addon_module("ui.local_servers").LocalServersRow
    row.candidates = tuple(
        dataclasses.replace(preset, port=server.port) if preset.name == "Ollama" else preset
        for preset in row.candidates
    )
    package = addon_module("config").__name__.rpartition(".")[0]
    mw.addonManager.writeConfig(package, mw.addonManager.addonConfigDefaults(package))
    mw.addonManager.configAction(package)()
    dialog = top_level("aicg_settings_dialog")
    _wait(mw, lambda: dialog.state == "ready" and bool(dialog.local.buttons))
    dialog.local.buttons[0].click()
    dialog.test_button.click()
    _wait(mw, lambda: not dialog.testing)
    dialog.tabs.setCurrentIndex(tab)
    dialog.resize(*SIZE)
    _wait(mw, lambda: True)
    dialog.grab().save(str(path))
    dialog.reject()


def _wait(mw, condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        mw.app.processEvents()
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the settings window did not get there")
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())

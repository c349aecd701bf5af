from __future__ import annotations

import sys

from .anki_app import addon_module, menu_action, top_level


def test_tools_menu_opens_the_generate_dialog_and_loads_the_pipeline(mw, qtbot) -> None:
    menu_action(mw, "Generate Cards…").trigger()
    dialog = top_level("aicg_generate_dialog")
    qtbot.waitUntil(lambda: dialog.pipeline_state != "loading", timeout=30_000)
    assert dialog.pipeline_state == "ready", dialog.status_text()
    assert "llama_index.core" in sys.modules
    assert addon_module("ui.generate.dialog").GenerateDialog is type(dialog)
    dialog.reject()

"""One real Anki main window for the whole session, offscreen, with the add-on loaded from source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .anki_app import start_anki, stop_anki


@pytest.fixture(scope="session")
def mw(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    main_window = start_anki(tmp_path_factory.mktemp("anki"))
    yield main_window
    stop_anki(main_window, seconds=2)

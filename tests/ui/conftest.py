"""One real Anki main window for the whole session, offscreen, with the add-on loaded from source."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.build_fixtures import PACKAGE
from tests.fake_openai import FakeOpenAI

from .anki_app import addon_module, server_config, start_anki, stop_anki


@pytest.fixture(scope="session")
def mw(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    main_window = start_anki(tmp_path_factory.mktemp("anki"))
    yield main_window
    stop_anki(main_window, seconds=2)


@pytest.fixture
def drafts_folder(mw) -> Iterator[Path]:
    """The add-on's journal folder (generate and review runs), emptied before and after each test."""
    folder = addon_module("ui.generate.dialog").USER_FILES / "drafts"
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def configured(mw, fake_openai: FakeOpenAI) -> Iterator[None]:
    """The add-on's config pointing at the local server for the test, restored after it."""
    config = mw.addonManager.getConfig(PACKAGE)
    mw.addonManager.writeConfig(PACKAGE, server_config(mw, fake_openai))
    yield
    mw.addonManager.writeConfig(PACKAGE, config)

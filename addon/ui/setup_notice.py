"""The notice at the top of the generate dialog when the learner must open the settings first: a first run
(no key and no local server), a broken endpoint, or config.json values replaced by defaults."""

from __future__ import annotations

import aqt
from aqt.main import AnkiQt
from aqt.qt import QObject, qconnect

from ..config import read_config, setup_message
from . import SETTINGS_DIALOG, config_events
from .generate.notices import NoticeArea

KEY = "settings"
"""The notice's key in the dialog's `NoticeArea`."""
BUTTON = "Open Settings…"


class SetupNotice(QObject):
    """Shows the notice in `notices` while `refresh()` finds something to say; looks again whenever the
    settings are saved (once it has looked a first time)."""

    def __init__(self, main_window: AnkiQt, notices: NoticeArea) -> None:
        super().__init__(notices)  # goes with the dialog, and its connection with it
        self.mw = main_window
        self.notices = notices
        self._checking = False
        qconnect(config_events().saved, self._on_saved)

    def refresh(self) -> None:
        """Check the settings now; they need the vendored libraries, so call this once they have loaded."""
        self._checking = True
        message = setup_message(read_config(self.mw))
        if message is None:
            self.notices.hide_notice(KEY)
        else:
            self.notices.show_notice(KEY, message, [(BUTTON, self._open_settings)])

    def _open_settings(self) -> None:
        aqt.dialogs.open(SETTINGS_DIALOG, self.mw)

    def _on_saved(self) -> None:
        if self._checking:
            self.refresh()

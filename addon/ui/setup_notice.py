"""One line above the generate dialog's controls when the learner must open the settings first: a first
run (no key and no local server), a broken endpoint, or config.json values replaced by defaults."""

from __future__ import annotations

import aqt
from aqt.main import AnkiQt
from aqt.qt import QFrame, QHBoxLayout, QLabel, QPushButton, Qt, QWidget, qconnect

from ..config import read_config, setup_message
from . import SETTINGS_DIALOG, config_events


class SetupNotice(QFrame):
    """Hidden until `refresh()` finds something to say; looks again whenever the settings are saved."""

    def __init__(self, main_window: AnkiQt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = main_window
        self._checking = False
        self.setObjectName("aicg_setup_notice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton("Open Settings…")
        self.button.setAutoDefault(False)
        qconnect(self.button.clicked, lambda: aqt.dialogs.open(SETTINGS_DIALOG, self.mw))
        layout.addWidget(self.label, stretch=1)
        layout.addWidget(self.button)
        qconnect(config_events().saved, self._on_saved)
        self.hide()

    def refresh(self) -> None:
        """Check the settings now; they need the vendored libraries, so call this once they have loaded."""
        self._checking = True
        message = setup_message(read_config(self.mw))
        self.label.setText(message or "")
        self.setVisible(message is not None)

    def _on_saved(self) -> None:
        if self._checking:
            self.refresh()

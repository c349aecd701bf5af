"""The settings window's "On this computer" row: the model servers answering on their usual local ports,
one button each, and Look again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aqt.main import AnkiQt
from aqt.qt import QHBoxLayout, QLabel, QPushButton, QWidget, pyqtSignal, qconnect

from ..pipeline.llm.presets import LOCAL_PRESETS, Preset
from .background import in_background

if TYPE_CHECKING:
    from ..pipeline.llm.servers import LocalServer


class LocalServersRow(QWidget):
    chosen = pyqtSignal(object)
    """The learner picked a server (a `LocalServer`)."""

    candidates: Sequence[Preset] = LOCAL_PRESETS
    """The servers looked for, on their usual ports."""

    def __init__(self, mw: AnkiQt, *, wanted: Callable[[], bool]) -> None:
        super().__init__()
        self.mw = mw
        self._wanted = wanted
        self.servers: list[LocalServer] | None = None  # None while looking
        self.buttons: list[QPushButton] = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.look_again_button = QPushButton("Look again")
        self.look_again_button.setAutoDefault(False)
        qconnect(self.look_again_button.clicked, self.look)
        self._layout.addWidget(self.label)
        self._layout.addStretch()
        self._layout.addWidget(self.look_again_button)

    def look(self) -> None:
        """Probe the candidates in the background (about a second at worst) and show what answers."""
        candidates = tuple(self.candidates)
        self._show(None)

        def find() -> list[LocalServer]:
            from ..pipeline.llm.servers import find_local_servers

            return find_local_servers(candidates)

        in_background(self.mw, find, self._show, self._on_error, wanted=self._wanted)

    def running(self, preset: Preset) -> LocalServer | None:
        return next((s for s in self.servers or [] if s.preset.name == preset.name), None)

    def _on_error(self, error: Exception) -> None:
        self._show([])
        self.label.setText(f"Could not look: {error}")

    def _show(self, servers: list[LocalServer] | None) -> None:
        self.servers = servers
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        names = ", ".join(preset.name for preset in self.candidates)
        self.look_again_button.setEnabled(servers is not None)
        if servers is None:
            self.label.setText(f"Looking for {names}…")
        elif not servers:
            self.label.setText(f"No server found ({names} on their usual ports).")
        else:
            self.label.setText("Found:")
            for number, server in enumerate(servers, start=1):
                button = QPushButton(server.describe())
                button.setAutoDefault(False)
                button.setToolTip(f"Use {server.base_url}")
                qconnect(button.clicked, lambda _checked=False, s=server: self.chosen.emit(s))
                self._layout.insertWidget(number, button)
                self.buttons.append(button)

"""One-line notices at the top of a window, each with its buttons and a close button: unfinished drafts,
an unreadable drafts file, settings that need attention. Shown and hidden by key.

    notices.show("drafts", "3 cards from “RSI” were not added.", [("Open", open_drafts)])
    notices.hide("drafts")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aqt.qt import QFrame, QHBoxLayout, QLabel, QPushButton, Qt, QToolButton, QVBoxLayout, QWidget

Button = tuple[str, Callable[[], None]]


class Notice(QFrame):
    def __init__(self, text: str, buttons: Sequence[Button], on_close: Callable[[], None]) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.label, stretch=1)
        self.buttons: dict[str, QPushButton] = {}
        for title, callback in buttons:
            button = self.buttons[title] = QPushButton(title)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, callback=callback: callback())
            layout.addWidget(button)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Hide this notice")
        close.setAutoRaise(True)
        close.clicked.connect(on_close)
        layout.addWidget(close)


class NoticeArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._notices: dict[str, Notice] = {}
        self.hide()

    def show_notice(self, key: str, text: str, buttons: Sequence[Button] = ()) -> Notice:
        """Show a notice (replacing the one with the same key)."""
        self.hide_notice(key)
        notice = Notice(text, buttons, lambda: self.hide_notice(key))
        self._notices[key] = notice
        self._layout.addWidget(notice)
        self.show()
        return notice

    def hide_notice(self, key: str) -> None:
        if (notice := self._notices.pop(key, None)) is not None:
            notice.hide()
            notice.deleteLater()
        self.setVisible(bool(self._notices))

    def notice(self, key: str) -> Notice | None:
        return self._notices.get(key)

    def text(self, key: str) -> str | None:
        notice = self._notices.get(key)
        return notice.label.text() if notice is not None else None

"""Rows of controls the generate and review windows share: a run's progress bar, status and usage
(`RunStatus`), and All / None with a count under a `RowsTable` (`CheckAllRow`)."""

from __future__ import annotations

from aqt.qt import QHBoxLayout, QLabel, QProgressBar, QPushButton, Qt, QWidget

from .table import RowsTable


def plain_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)  # it shows model output
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class RunStatus(QWidget):
    """The progress bar (hidden until the first run), a one-line status and what the run spent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.status_label = plain_label()
        self.usage_label = plain_label()
        self.usage_label.setWordWrap(False)
        self.usage_label.setEnabled(False)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label, stretch=1)
        layout.addWidget(self.usage_label)

    def started(self, total: int = 0, unit: str = "") -> None:
        """A run began: `total` steps of `unit` (0: not known yet, the bar shows it is busy)."""
        self.progress.setUpdatesEnabled(False)  # painted once, with the next paint
        self.progress.show()
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        if unit:
            self.progress.setFormat(f"%v of %m {unit}")
        self.progress.setUpdatesEnabled(True)
        self.usage_label.setText("")

    def advanced(self, done: int, total: int, unit: str, usage: str) -> None:
        # QProgressBar repaints at once on a new value; with updates off it waits for the next paint.
        self.progress.setUpdatesEnabled(False)
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"%v of %m {unit}")
        self.progress.setUpdatesEnabled(True)
        self.usage_label.setText(usage)


class CheckAllRow(QWidget):
    """All / None for the table's checkboxes, and a count beside them."""

    def __init__(self, table: RowsTable, *, accept_all: str, reject_all: str) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.select_all = QPushButton("All")
        self.select_all.setToolTip(accept_all)
        self.select_none = QPushButton("None")
        self.select_none.setToolTip(reject_all)
        self.count_label = plain_label()
        for button in (self.select_all, self.select_none):
            button.setAutoDefault(False)
            layout.addWidget(button)
        layout.addWidget(self.count_label, stretch=1)
        self.select_all.clicked.connect(lambda: table.check_all(True))
        self.select_none.clicked.connect(lambda: table.check_all(False))

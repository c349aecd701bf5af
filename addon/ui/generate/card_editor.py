"""Edit a card's fields: one box per field, Markdown as plain text, or the same text as rich text.

Reusable: `set_fields({"Question": "...", "Answer": "..."})` fills it, `edited` fires (after a short pause in
typing) with every field's text, `fields()` reads them. The rich-text toggle shows the Markdown rendered by
Qt and turns what the learner types back into Markdown; a field is only rewritten if it was edited, so
Markdown the rich view can't show stays as it was.
"""

from __future__ import annotations

from collections.abc import Mapping

from aqt.qt import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QTextEdit,
    QTimer,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

TYPING_PAUSE_MS = 400


class CardEditor(QWidget):
    edited = pyqtSignal(dict)
    """Every field's text (dict[str, str]), after the learner changed one."""

    def __init__(self, parent: QWidget | None = None, *, boxes: int = 3) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.rich = QCheckBox("Rich text")
        self.rich.setToolTip("Edit the fields formatted instead of as Markdown text")
        self.rich.toggled.connect(self._on_rich_toggled)
        layout.addWidget(self.rich)
        self._form = QFormLayout()
        layout.addLayout(self._form)
        self._placeholder = QLabel("Select a card to edit it.")
        self._placeholder.setEnabled(False)
        layout.addWidget(self._placeholder)
        layout.addStretch()
        self._rows: list[tuple[QLabel, QTextEdit]] = []
        self._boxes: dict[str, QTextEdit] = {}
        self._texts: dict[str, str] = {}
        self._dirty: set[str] = set()
        """Fields typed in since they were filled: only these are read back."""
        self._filling = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_PAUSE_MS)
        self._timer.timeout.connect(self._emit_edited)
        self._add_rows(boxes)  # made now, with the window, rather than when the first card is shown

    def set_fields(self, fields: Mapping[str, str], *, read_only: bool = False) -> None:
        """Show these fields (an empty mapping clears the editor)."""
        self._timer.stop()
        names = list(fields)
        self._add_rows(len(names) - len(self._rows))
        self._boxes = {}
        for number, (label, box) in enumerate(self._rows):
            used = number < len(names)
            self._form.setRowVisible(number, used)
            if used:
                label.setText(names[number])
                self._boxes[names[number]] = box
                box.setReadOnly(read_only)
        self._texts = dict(fields)
        self._fill()
        self._placeholder.setVisible(not fields)

    def fields(self) -> dict[str, str]:
        self._collect()
        return dict(self._texts)

    def box(self, name: str) -> QTextEdit:
        return self._boxes[name]

    def flush(self) -> None:
        """Send a pending edit now (before the selection moves on)."""
        if self._timer.isActive():
            self._timer.stop()
            self._emit_edited()

    def _add_rows(self, count: int) -> None:
        for _ in range(count):
            label, box = QLabel(), QTextEdit()
            box.setAcceptRichText(False)
            box.setTabChangesFocus(True)
            box.setMinimumHeight(48)
            row = len(self._rows)
            box.textChanged.connect(lambda row=row: self._on_text_changed(row))
            self._form.addRow(label, box)
            self._form.setRowVisible(row, False)
            self._rows.append((label, box))

    def _fill(self) -> None:
        self._filling = True
        try:
            for name, box in self._boxes.items():
                text = self._texts.get(name, "")
                if self.rich.isChecked():
                    box.setMarkdown(text)
                else:
                    box.setPlainText(text)
            self._dirty.clear()
        finally:
            self._filling = False

    def _collect(self) -> None:
        self._collect_as(self.rich.isChecked())

    def _on_rich_toggled(self, rich: bool) -> None:
        self._collect_as(not rich)
        self._fill()

    def _collect_as(self, rich: bool) -> None:
        """Read the boxes the learner changed back into Markdown (from the rich view if `rich`)."""
        for name in self._dirty:
            box = self._boxes[name]
            self._texts[name] = (box.toMarkdown() if rich else box.toPlainText()).strip()
        self._dirty.clear()

    def _on_text_changed(self, row: int) -> None:
        names = list(self._boxes)
        if not self._filling and row < len(names):
            self._dirty.add(names[row])
            self._timer.start()

    def _emit_edited(self) -> None:
        self._collect()
        self.edited.emit(dict(self._texts))

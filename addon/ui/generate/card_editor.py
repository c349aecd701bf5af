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

    def __init__(self, parent: QWidget | None = None) -> None:
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
        self._boxes: dict[str, QTextEdit] = {}
        self._texts: dict[str, str] = {}
        self._dirty: set[str] = set()
        """Fields typed in since they were filled: only these are read back."""
        self._filling = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_PAUSE_MS)
        self._timer.timeout.connect(self._emit_edited)

    def set_fields(self, fields: Mapping[str, str], *, read_only: bool = False) -> None:
        """Show these fields (an empty mapping clears the editor)."""
        self._timer.stop()
        if list(fields) != list(self._boxes):
            self._rebuild(list(fields))
        self._texts = dict(fields)
        self._fill()
        for box in self._boxes.values():
            box.setReadOnly(read_only)
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

    def _rebuild(self, names: list[str]) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._boxes = {}
        for name in names:
            box = QTextEdit()
            box.setAcceptRichText(False)
            box.setTabChangesFocus(True)
            box.setMinimumHeight(48)
            box.textChanged.connect(lambda name=name: self._on_text_changed(name))
            self._form.addRow(name, box)
            self._boxes[name] = box

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

    def _on_text_changed(self, name: str) -> None:
        if not self._filling:
            self._dirty.add(name)
            self._timer.start()

    def _emit_edited(self) -> None:
        self._collect()
        self.edited.emit(dict(self._texts))

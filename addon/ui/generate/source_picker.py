"""What to generate from: pasted text (with a title for the cards' Source field) or notes handed over by the
Browser or the editor. Two tabs; `set_notes` switches to the notes."""

from __future__ import annotations

from collections.abc import Sequence

from aqt.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...notes.sources import NoteSource


class SourcePicker(QTabWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        text_tab = QWidget()
        text_layout = QVBoxLayout(text_tab)
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText(
            "Title (optional): where the text is from, kept in each card's Source"
        )
        self.text_edit = QPlainTextEdit()
        self.text_edit.setPlaceholderText("Paste the text you want to learn from…")
        text_layout.addWidget(self.title_edit)
        text_layout.addWidget(self.text_edit)
        self.addTab(text_tab, "Text")

        notes_tab = QWidget()
        notes_layout = QVBoxLayout(notes_tab)
        self.notes_label = QLabel()
        self.notes_list = QListWidget()
        self.notes_list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        row = QHBoxLayout()
        hint = QLabel("Select notes in the Browser, or press the editor's button, to generate from them.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Leave the selected notes out")
        self.remove_button.clicked.connect(self._remove_selected)
        row.addWidget(hint, stretch=1)
        row.addWidget(self.remove_button)
        notes_layout.addWidget(self.notes_label)
        notes_layout.addWidget(self.notes_list)
        notes_layout.addLayout(row)
        self.addTab(notes_tab, "Notes")
        self._notes: list[NoteSource] = []
        self.set_notes([])
        self.setCurrentIndex(0)

    def set_text(self, text: str, title: str = "") -> None:
        self.text_edit.setPlainText(text)
        self.title_edit.setText(title)

    def set_notes(self, notes: Sequence[NoteSource]) -> None:
        self._notes = list(notes)
        self.notes_list.clear()
        for note in self._notes:
            item = QListWidgetItem(note.title or "(a note without text)")
            item.setToolTip(note.text[:2000])
            self.notes_list.addItem(item)
        count = len(self._notes)
        self.notes_label.setText(f"{count} note{'s' if count != 1 else ''}, each a source of its own:")
        self.setTabText(1, f"Notes ({count})" if count else "Notes")
        if notes:
            self.setCurrentIndex(1)

    def from_notes(self) -> bool:
        return self.currentIndex() == 1

    def notes(self) -> list[NoteSource]:
        return list(self._notes)

    def text(self) -> str:
        return self.text_edit.toPlainText().strip()

    def title(self) -> str:
        return " ".join(self.title_edit.text().split())

    def _remove_selected(self) -> None:
        rows = {index.row() for index in self.notes_list.selectedIndexes()}
        self.set_notes([note for row, note in enumerate(self._notes) if row not in rows])
        self.setCurrentIndex(1)

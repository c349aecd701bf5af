"""Which fields are question, answer and extra (or text and extra), one box per note type of the selected
notes: shown before the first review of a note type, and from the review window's Fields… button. OK
remembers the choice per note type (field_map.py); fields not chosen are never read or written."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from aqt.qt import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    Qt,
    QVBoxLayout,
    QWidget,
)

from ...notes.field_map import REQUIRED, ROLE_LABELS, ROLES, FieldMap, Role

NONE = "(none)"


class FieldMapDialog(QDialog):
    def __init__(
        self,
        parent: QWidget,
        maps: Sequence[FieldMap],
        counts: Mapping[int, int],
        on_chosen: Callable[[list[FieldMap]], None],
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aicg_field_map_dialog")
        self.setWindowTitle("Fields to Review")
        self.setMinimumWidth(460)
        self.maps = list(maps)
        self._on_chosen = on_chosen
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Which field of each note type holds the card's question, answer and extra? "
            "Fields not chosen are never changed. Your choice is remembered for each note type."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.boxes: dict[int, dict[Role, QComboBox]] = {}
        for mapping in self.maps:
            count = counts.get(mapping.notetype_id, 0)
            kind = "cloze note type" if mapping.kind == "cloze" else "note type"
            group = QGroupBox(f"{mapping.notetype} ({kind}, {count} note{'s' if count != 1 else ''})")
            form = QFormLayout(group)
            combos: dict[Role, QComboBox] = {}
            for role in ROLES[mapping.kind]:
                combo = QComboBox()
                combo.addItems(([] if role in REQUIRED[mapping.kind] else [NONE]) + list(mapping.names))
                combo.setCurrentText(mapping.fields.get(role, NONE))
                combo.currentTextChanged.connect(self._check)
                form.addRow(ROLE_LABELS[role], combo)
                combos[role] = combo
            self.boxes[mapping.notetype_id] = combos
            layout.addWidget(group)
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._check()

    def chosen(self) -> list[FieldMap]:
        return [
            mapping.with_fields(
                {role: combo.currentText() for role, combo in self.boxes[mapping.notetype_id].items()}
            )
            for mapping in self.maps
        ]

    def accept(self) -> None:
        if self._check():
            super().accept()
            self._on_chosen(self.chosen())

    def _check(self) -> bool:
        """Each field holds one role at most; say which note type breaks that."""
        broken = [mapping.notetype for mapping in self.chosen() if not mapping.complete]
        self.problem.setText(
            f"Choose a different field for each role in: {', '.join(broken)}." if broken else ""
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.setEnabled(not broken)
        return not broken

"""The selected note's suggestion: the note now and as suggested side by side, as a word diff or rendered by
Anki (the generate window's `CardView`), the reasons, and the suggestion's fields in the generate window's
`CardEditor`, where the learner edits it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aqt.main import AnkiQt
from aqt.qt import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    Qt,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)
from aqt.theme import theme_manager

from ..generate.card_editor import CardEditor
from ..generate.card_view import CardView
from . import diff
from .rows import FLAG_WORDS, reasons

if TYPE_CHECKING:
    from ...notes.render import RenderedCard
    from ...pipeline.models import NoteCard
    from ...reviews import ReviewRow, ReviewRun

LABELS = {"front": "Question", "back": "Answer", "extra": "Extra"}
CLOZE_LABELS = {"front": "Text", "extra": "Extra"}
SEPARATOR = " · "
MIN_VIEW_HEIGHT = 260


class SuggestionPanel(QWidget):
    edited = pyqtSignal(list)
    """The learner edited the suggestion: the cards as they are now (list[NoteCard])."""

    def __init__(self, mw: AnkiQt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        modes = QHBoxLayout()
        self.diff_button = _mode_button(
            "Changes", "The note now and as suggested, the words that change marked"
        )
        self.rendered_button = _mode_button(
            "Rendered", "The note now and as suggested, as Anki shows the cards"
        )
        group = QButtonGroup(self)
        for button in (self.diff_button, self.rendered_button):
            group.addButton(button)
            modes.addWidget(button)
        modes.addStretch()
        self.diff_button.setChecked(True)
        group.buttonToggled.connect(lambda _button, _on: self._show())
        layout.addLayout(modes)

        splitter = QSplitter(Qt.Orientation.Vertical)
        self.stack = QStackedWidget()
        self.stack.setMinimumHeight(MIN_VIEW_HEIGHT)
        self.diff_view = QTextBrowser()
        self.diff_view.setOpenLinks(False)
        self.card_view = CardView(mw)
        self.stack.addWidget(self.diff_view)
        self.stack.addWidget(self.card_view)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.stack, stretch=1)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(Qt.TextFormat.PlainText)  # model output
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top_layout.addWidget(self.reasons)
        splitter.addWidget(top)
        self.editor = CardEditor(boxes=6)
        self.editor.edited.connect(self._on_edited)
        scroll = QScrollArea()  # a split's cards need more room than the panel has
        scroll.setWidget(self.editor)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([400, 280])
        self.splitter = splitter
        layout.addWidget(splitter, stretch=1)
        self._row: ReviewRow | None = None
        self._run: ReviewRun | None = None
        self._cards: list[NoteCard] = []

    def start(self) -> None:
        self.card_view.start()

    def cleanup(self) -> None:
        self.card_view.cleanup()

    @property
    def rendered(self) -> bool:
        return self.rendered_button.isChecked()

    def set_rendered(self, rendered: bool) -> None:
        (self.rendered_button if rendered else self.diff_button).setChecked(True)

    def show_row(self, row: ReviewRow | None, run: ReviewRun | None) -> None:
        """Show this note's suggestion (None: nothing selected); the editor gets its cards."""
        self.editor.flush()
        self._row, self._run = row, run
        if row is None or run is None:
            self._cards = []
            self.editor.set_fields({})
            self.reasons.setText("")
            self.diff_view.setHtml("")
            self.card_view.show_message("Select a note to see its suggestion.")
            return
        self._cards = self._suggested_cards(row)
        self.editor.set_fields(
            self._editor_fields(row, self._cards), read_only=row.done or row.verdict is None
        )
        lines = reasons(row)
        self.reasons.setText("\n".join(f"• {line}" for line in lines))
        self._show()

    def refresh(self) -> None:
        """Show the current row again (its suggestion changed)."""
        self.show_row(self._row, self._run)

    # what is shown

    def _suggested_cards(self, row: ReviewRow) -> list[NoteCard]:
        from ...pipeline.models import NoteCard
        from ...reviews import note_card

        if row.edits is not None:
            return list(row.edits)
        if row.action in ("rewrite", "split") and row.verdict is not None:
            return [NoteCard.of(card.draft) for card in row.verdict.cards]
        return [note_card(row.note)]

    def _show(self) -> None:
        row, run = self._row, self._run
        if row is None or run is None:
            return
        self.stack.setCurrentWidget(self.card_view if self.rendered else self.diff_view)
        if self.rendered:
            self._show_rendered(row, run)
        else:
            self.diff_view.setHtml(self._diff(row))

    def _diff(self, row: ReviewRow) -> str:
        from ...reviews import note_card

        night = theme_manager.night_mode
        old = note_card(row.note)
        labels = self._labels(row, old)
        action = row.action
        if action in ("rewrite", "split"):
            new = self._cards
            if action == "rewrite" and len(new) == 1 and new[0].kind == old.kind:
                pairs = [
                    diff.word_diff(getattr(old, attribute), getattr(new[0], attribute), night=night)
                    for attribute in labels
                ]
                cells = [
                    (diff.fields_html([(label, a)]), diff.fields_html([(label, b)]))
                    for label, (a, b) in zip(labels.values(), pairs, strict=True)
                ]
                return diff.table("Now", "Suggested", cells, night=night)
            whole = "\n".join(getattr(old, attribute) for attribute in labels)
            pieces = ["\n".join(_texts(card)) for card in new]
            left, _ = diff.split_diff(whole, pieces, night=night)
            right = "".join(
                f"<p><b>Card {number}</b></p>"
                + diff.fields_html(
                    [
                        (label, diff.split_diff(whole, [text], night=night)[1][0])
                        for label, text in zip(_card_labels(card).values(), _texts(card), strict=True)
                        if text.strip()
                    ]
                )
                for number, card in enumerate(new, start=1)
            )
            return diff.table(
                "Now",
                f"Suggested: {len(new)} new notes",
                [(diff.fields_html([("", left)]), right)],
                night=night,
            )
        now = diff.fields_html(
            [(label, diff.escaped(getattr(old, attribute))) for attribute, label in labels.items()]
        )
        return diff.table("Now", "Suggested", [(now, diff.escaped(self._no_change(row)))], night=night)

    def _no_change(self, row: ReviewRow) -> str:
        if row.verdict is None:
            return "Not reviewed yet."
        if row.action == "flag":
            flag = FLAG_WORDS.get(row.verdict.flag or "other", "check it")
            return f"Flagged ({flag}): left as it is for you to decide."
        return "Keep: no change suggested."

    def _labels(self, row: ReviewRow, card: NoteCard) -> dict[str, str]:
        """The note's mapped fields (by the card's attributes) with their names."""
        names = row.note.field_names
        roles = {"front": "text" if card.kind == "cloze" else "question", "back": "answer", "extra": "extra"}
        return {attribute: names[role] for attribute, role in roles.items() if role in names}

    def _show_rendered(self, row: ReviewRow, run: ReviewRun) -> None:
        try:
            now, suggested = self._rendered(row, run)
        except Exception as error:  # a template the learner broke, a note deleted meanwhile: say so
            self.card_view.show_message(f"This note can't be shown: {error}")
            return
        self.card_view.show_columns([("Now", [now]), ("Suggested", suggested)])

    def _rendered(self, row: ReviewRow, run: ReviewRun) -> tuple[RenderedCard, list[RenderedCard | str]]:
        from anki.notes import NoteId

        from ...notes.apply_review import Rewrite, Split, split_note
        from ...notes.render import render_note
        from ...reviews import change_of

        note = self.mw.col.get_note(NoteId(row.note.note_id))
        for role, value in row.note.fields.items():
            note[row.note.field_names[role]] = value
        now = render_note(note)
        change = change_of(row, run.markup(row))
        if isinstance(change, Rewrite):
            for role, value in change.fields.items():
                note[row.note.field_names[role]] = value
            return now, [render_note(note)]
        if isinstance(change, Split):
            original = self.mw.col.get_note(NoteId(row.note.note_id))
            cards: list[RenderedCard | str] = []
            for number, new in enumerate(change.notes, start=1):
                cards += [f"New note {number}", render_note(split_note(self.mw.col, original, row.note, new))]
            return now, cards
        return now, [self._no_change(row)]

    # editing

    def _editor_fields(self, row: ReviewRow, cards: Sequence[NoteCard]) -> dict[str, str]:
        fields: dict[str, str] = {}
        with_extra = "extra" in row.note.field_names or len(cards) > 1
        for number, card in enumerate(cards, start=1):
            prefix = f"Card {number}{SEPARATOR}" if len(cards) > 1 else ""
            for attribute, label in _card_labels(card).items():
                if attribute != "extra" or with_extra:
                    fields[f"{prefix}{label}"] = getattr(card, attribute)
        return fields

    def _on_edited(self, fields: dict[str, str]) -> None:
        if self._row is None or not self._cards:
            return
        cards = []
        for number, card in enumerate(self._cards, start=1):
            prefix = f"Card {number}{SEPARATOR}" if len(self._cards) > 1 else ""
            changes = {
                attribute: fields[f"{prefix}{label}"]
                for attribute, label in _card_labels(card).items()
                if f"{prefix}{label}" in fields
            }
            cards.append(card.model_copy(update=changes))
        if cards != self._cards:
            self._cards = cards
            self.edited.emit(cards)


def _card_labels(card: NoteCard) -> dict[str, str]:
    return CLOZE_LABELS if card.kind == "cloze" else LABELS


def _texts(card: NoteCard) -> list[str]:
    return [getattr(card, attribute) for attribute in _card_labels(card)]


def _mode_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(True)
    button.setAutoRaise(True)
    return button

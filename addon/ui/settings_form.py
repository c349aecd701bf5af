"""The settings window's tabs beyond the connection: Cards, and Limits and cost.

Plain labels, a hint under each field, and each number a spin box bounded by the settings' own limits
(`config.limits()`), so the window cannot hold a number the add-on would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aqt.qt import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPalette,
    Qt,
    QVBoxLayout,
    QWidget,
    qconnect,
)

from ..config import CHOICES, LABELS, Limit, parse_tags


@dataclass(frozen=True)
class Number:
    key: str
    hint: str
    suffix: str = ""
    decimals: int = 0
    step: float = 1.0


CARD_NUMBERS = (
    Number("temperature", "Low values give steadier cards", decimals=2, step=0.1),
    Number("context_window", "The model's context size; long texts are split to fit", " tokens", step=1000),
    Number(
        "max_reply_tokens",
        "The longest answer asked of the model, never more than half the context window",
        " tokens",
        step=1000,
    ),
)
LIMIT_NUMBERS = (
    Number("max_concurrency", "How many requests run at once"),
    Number("request_timeout", "How long to wait for one answer before trying again", " s"),
    Number("max_attempts", "Tries per request, the first included"),
    Number("max_backoff", "The longest pause between two tries", " s", decimals=1),
    Number("max_requests_per_run", "A run stops when it has made this many, keeping its cards", step=10),
    Number("run_timeout", "A run stops after this long, keeping its cards", " s", step=60),
    Number("orchestrator_max_steps", "Agents the orchestrator route may call in one run"),
)
PRICES = (
    Number("price_per_million_prompt", "US dollars per million prompt tokens", decimals=3, step=0.05),
    Number("price_per_million_completion", "US dollars per million completion tokens", decimals=3, step=0.05),
)


class Hint(QLabel):
    """A short explanation under a field, in the theme's subdued text colour; hidden while empty."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.setFont(font)
        self.setText(text)

    def setText(self, text: str | None) -> None:
        super().setText(text)
        if not text or self.parent() is not None:  # shown without a parent, it would become a window
            self.setVisible(bool(text))


def choice_box(key: str) -> QComboBox:
    box = QComboBox()
    for value, name in CHOICES[key].items():
        box.addItem(name, value)
    return box


def set_choice(box: QComboBox, value: Any) -> None:
    box.setCurrentIndex(max(0, box.findData(value)))


def new_form(parent: QWidget) -> QFormLayout:
    form = QFormLayout(parent)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    form.setVerticalSpacing(10)
    return form


def add_row(form: QFormLayout, key: str, field: QWidget, hint: str = "", *, compact: bool = False) -> Hint:
    """A labelled row: the field (at its natural width if `compact`) with its hint right under it. The hint
    label is returned for rows whose hint changes."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    if compact:
        line = QHBoxLayout()
        line.addWidget(field)
        line.addStretch()
        column.addLayout(line)
    else:
        column.addWidget(field)
    label = Hint(hint)
    column.addWidget(label)
    form.addRow(f"{LABELS[key]}:", box)
    return label


class SettingsForm:
    """The widgets of the Cards and the Limits and cost tabs, and their values as config.json keys."""

    def __init__(self) -> None:
        self.spins: dict[str, QDoubleSpinBox] = {}
        self._hints: dict[str, Hint] = {}
        self.cards_tab = QWidget()
        cards = new_form(self.cards_tab)
        self.mode = choice_box("mode")
        add_row(
            cards,
            "mode",
            self.mode,
            "Planned is faster and spends no requests on deciding what's next.",
            compact=True,
        )
        self.language = QLineEdit()
        self.language.setPlaceholderText("the text's own language")
        add_row(cards, "target_language", self.language, "Write the cards in this language, e.g. German.")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("none")
        add_row(cards, "default_tags", self.tags, "Every added note gets these; separate them with spaces.")
        self.math = choice_box("math")
        add_row(
            cards,
            "math",
            self.math,
            "Formulas are shown with MathJax. Anki's LaTeX tags make Anki run LaTeX on this computer:"
            " choose them only if you use LaTeX in Anki and trust your texts.",
            compact=True,
        )
        self._add_numbers(cards, CARD_NUMBERS)

        self.limits_tab = QWidget()
        limits = new_form(self.limits_tab)
        self._add_numbers(limits, LIMIT_NUMBERS)
        self.priced = QCheckBox("Show what a run costs, at these prices")
        limits.addRow(self.priced)
        self._add_numbers(limits, PRICES)
        qconnect(self.priced.toggled, self._on_priced)
        self._on_priced(False)

    def widget_for(self, key: str) -> QWidget | None:
        named: dict[str, QWidget] = {
            "mode": self.mode,
            "target_language": self.language,
            "default_tags": self.tags,
            "math": self.math,
        }
        return named.get(key, self.spins.get(key))

    def apply_limits(self, limits: Mapping[str, Limit]) -> None:
        for number in (*CARD_NUMBERS, *LIMIT_NUMBERS, *PRICES):
            spin, limit = self.spins[number.key], limits[number.key]
            smallest = 10.0**-number.decimals
            spin.setRange(limit.minimum + (smallest if limit.exclusive_minimum else 0), limit.maximum)
            hint = self._hints[number.key]
            hint.setText(
                f"{number.hint} ({_number(spin.minimum())}–{_number(spin.maximum())}{number.suffix})."
            )

    def set_values(self, values: Mapping[str, Any]) -> None:
        set_choice(self.mode, values.get("mode"))
        set_choice(self.math, values.get("math"))
        self.language.setText(str(values.get("target_language") or ""))
        try:
            self.tags.setText(" ".join(parse_tags(values.get("default_tags"))))
        except ValueError:
            self.tags.clear()
        for key, spin in self.spins.items():
            value = values.get(key)
            spin.setValue(float(value) if isinstance(value, int | float) else spin.minimum())
        self.priced.setChecked(any(values.get(number.key) is not None for number in PRICES))

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "mode": self.mode.currentData(),
            "target_language": self.language.text().strip(),
            "default_tags": self.tags.text().split(),
            "math": self.math.currentData(),
        }
        for number in (*CARD_NUMBERS, *LIMIT_NUMBERS, *PRICES):
            value = self.spins[number.key].value()
            values[number.key] = int(value) if number.decimals == 0 else value
        if not self.priced.isChecked():
            values |= {number.key: None for number in PRICES}
        return values

    def _add_numbers(self, form: QFormLayout, numbers: tuple[Number, ...]) -> None:
        for number in numbers:
            spin = QDoubleSpinBox()
            spin.setDecimals(number.decimals)
            spin.setSingleStep(number.step)
            spin.setSuffix(number.suffix)
            spin.setGroupSeparatorShown(True)
            spin.setMinimumWidth(110)
            self.spins[number.key] = spin
            self._hints[number.key] = add_row(form, number.key, spin, number.hint, compact=True)

    def _on_priced(self, priced: bool) -> None:
        for number in PRICES:
            self.spins[number.key].setEnabled(priced)


def _number(value: float) -> str:
    return f"{value:,g}" if value < 1e6 else f"{value:,.0f}"

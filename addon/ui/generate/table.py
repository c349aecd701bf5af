"""A table of rows with a checkbox each: the model (`RowsModel`, columns given as functions of a row) and the
view (`RowsTable`: Space toggles the checkboxes of the selected rows, select all/none).

Generic over the row type, so the generate preview (draft cards) and the review window (notes with
verdicts) share it: each passes its own columns and says how a row is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aqt import colors
from aqt.qt import (
    QAbstractItemView,
    QAbstractTableModel,
    QHeaderView,
    QItemSelectionModel,
    QKeyEvent,
    QModelIndex,
    QPersistentModelIndex,
    QStyle,
    Qt,
    QTableView,
    QWidget,
    pyqtSignal,
)
from aqt.theme import theme_manager

T = TypeVar("T")
CELL_PADDING = 16
"""Room for a cell's margins (column 0 gets the checkbox's width on top)."""
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str
    text: Callable[[T], str]
    tooltip: Callable[[T], str] | None = None
    stretch: bool = False
    """Take the width left over."""
    chars: int = 10
    """Otherwise, the column's width in average characters (the learner can drag it wider). Sizing columns
    to their contents would measure every row each time rows are added."""


class RowsModel(QAbstractTableModel, Generic[T]):
    """Rows shown in `columns`; column 0 has a checkbox read by `is_checked` and written by `set_checked`."""

    checked_changed = pyqtSignal()
    """The learner checked or unchecked rows (not emitted by `set_rows`)."""

    def __init__(
        self,
        columns: Sequence[Column[T]],
        *,
        is_checked: Callable[[T], bool],
        set_checked: Callable[[T, bool], None],
        is_dimmed: Callable[[T], bool] = lambda row: False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._rows: list[T] = []
        self._is_checked = is_checked
        self._set_checked = set_checked
        self._is_dimmed = is_dimmed

    # rows

    def set_rows(self, rows: Sequence[T]) -> bool:
        """Show these rows. When they are the old rows (the same objects) with some added, only those are
        inserted, so the view keeps its selection and asks for nothing else; returns whether that was so."""
        added = _insertions(self._rows, rows)
        if added is None:
            self.beginResetModel()
            self._rows = list(rows)
            self.endResetModel()
        else:
            for first, last in _runs_of(added):  # one insertion per run of rows: the view relays out once
                self.beginInsertRows(QModelIndex(), first, last)
                self._rows[first:first] = rows[first : last + 1]
                self.endInsertRows()
        return added is not None

    def rows(self) -> list[T]:
        return list(self._rows)

    def row(self, number: int) -> T:
        return self._rows[number]

    def refresh(self) -> None:
        """Repaint every row (what the columns show changed, e.g. the duplicate flags)."""
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.columnCount() - 1))

    def row_changed(self, number: int) -> None:
        """Repaint one row after its data changed."""
        last = self.columnCount() - 1
        self.dataChanged.emit(self.index(number, 0), self.index(number, last))

    def set_checked(self, numbers: Sequence[int], checked: bool) -> None:
        for number in numbers:
            self._set_checked(self._rows[number], checked)
            self.row_changed(number)
        self.checked_changed.emit()

    def checked_rows(self) -> list[T]:
        return [row for row in self._rows if self._is_checked(row)]

    # QAbstractTableModel

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return " ".join(column.text(row).split())  # one line per row
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row) or None
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            return Qt.CheckState.Checked if self._is_checked(row) else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole and self._is_dimmed(row):
            return theme_manager.qcolor(colors.FG_SUBTLE)
        return None

    def setData(self, index: Index, value: Any, role: int = 0) -> bool:
        if index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            self.set_checked([index.row()], checked)
            return True
        return False

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags


def _runs_of(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending numbers as runs of consecutive ones, (first, last) each."""
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _insertions(old: Sequence[T], new: Sequence[T]) -> list[int] | None:
    """Where rows were inserted if `new` is `old` (same objects, same order) with rows added, else None."""
    added: list[int] = []
    position = 0
    for number, row in enumerate(new):
        if position < len(old) and old[position] is row:
            position += 1
        else:
            added.append(number)
    return added if position == len(old) else None


class RowsTable(QTableView):
    """The view: whole rows selected, Space toggles their checkboxes, `current_row_changed` on selection."""

    current_row_changed = pyqtSignal(int)
    """The row whose details to show (-1: none)."""

    def __init__(self, model: RowsModel[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.rows_model = model
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        vertical, header = self.verticalHeader(), self.horizontalHeader()
        assert vertical is not None and header is not None
        vertical.hide()
        char_width = self.fontMetrics().averageCharWidth()
        style = self.style()
        checkbox = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth) if style is not None else 0
        for number, column in enumerate(model.columns):
            if column.stretch:
                header.setSectionResizeMode(number, QHeaderView.ResizeMode.Stretch)
            else:  # a fixed width: sizing to the contents would measure every row at each change
                header.setSectionResizeMode(number, QHeaderView.ResizeMode.Interactive)
                title = header.fontMetrics().horizontalAdvance(column.title)
                width = (
                    max(char_width * column.chars, title) + CELL_PADDING + (checkbox if number == 0 else 0)
                )
                self.setColumnWidth(number, width)
        model.modelReset.connect(self._emit_current)
        self.selection().currentRowChanged.connect(lambda current, _previous: self._emit_current())

    def selection(self) -> QItemSelectionModel:
        selection = self.selectionModel()
        assert selection is not None  # set with the model
        return selection

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.selection().selectedRows()})

    def select_rows(self, numbers: Sequence[int], *, current: int | None = None) -> None:
        """Select these rows (adding to the selection) and make `current` the current row."""
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for number in numbers:
            self.selection().select(self.rows_model.index(number, 0), flags)
        if current is not None:
            self.selection().setCurrentIndex(
                self.rows_model.index(current, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def select_row(self, number: int) -> None:
        if 0 <= number < self.rows_model.rowCount():
            self.selectRow(number)

    def check_all(self, checked: bool) -> None:
        self.rows_model.set_checked(range(self.rows_model.rowCount()), checked)

    def toggle_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            # Like a file manager: if any selected row is unchecked, check them all; else uncheck them all.
            checked = not all(
                self.rows_model.data(self.rows_model.index(r, 0), Qt.ItemDataRole.CheckStateRole)
                == Qt.CheckState.Checked
                for r in rows
            )
            self.rows_model.set_checked(rows, checked)

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.toggle_selected()
            return
        super().keyPressEvent(event)

    def _emit_current(self) -> None:
        current = self.currentIndex()
        self.current_row_changed.emit(current.row() if current.isValid() else -1)

"""The product list's view: Tab leaves it, Space ticks the chosen row's product, the
Reliability column shows only with room for it, and a search that hides every row says so.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView

from .table import MODEL_COL, NOTES_COL, PHOTOS_COL, ProductFilter, ProductModel


class ProductTable(QTableView):
    """The list; its Reliability column only when there is a model to say it and room
    beside the names (at 800×600 the line under the chosen product's name says it), and
    its Notes as wide as the names leave: in large text (a desktop's text size of 125 %)
    fixed widths left every name at "b…"."""

    NAME_LETTERS = 9  # the names come first: about this many letters beside the thumbnail

    def __init__(self, products: ProductModel) -> None:
        super().__init__()
        self.products = products
        self.no_match: QLabel | None = None  # "No product matches …" (product_table)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.fit_columns()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        """Space ticks the chosen row's product whichever column is current: rows
        highlight whole, so the owner cannot see that it is not the first."""
        cur = self.currentIndex()
        if event.key() == Qt.Key.Key_Space and cur.isValid() and cur.column() != 0:
            first = cur.siblingAtColumn(0)
            on = self.model().data(first, Qt.ItemDataRole.CheckStateRole)
            off = Qt.CheckState(on) == Qt.CheckState.Checked
            state = Qt.CheckState.Unchecked if off else Qt.CheckState.Checked
            self.model().setData(first, state, Qt.ItemDataRole.CheckStateRole)
            return
        super().keyPressEvent(event)

    def fit_columns(self) -> None:
        fm = self.fontMetrics()
        name = self.iconSize().width() + 40 + fm.averageCharWidth() * self.NAME_LETTERS
        notes_want = fm.horizontalAdvance("only one photo") + 16
        hh = self.horizontalHeader()
        room = self.viewport().width() - hh.sectionSize(PHOTOS_COL) - name
        model_w = model_width(fm)  # its size while hidden is 0
        show = self.products.standings is not None and room >= notes_want + model_w
        if self.isColumnHidden(MODEL_COL) == show:
            self.setColumnHidden(MODEL_COL, not show)
        room -= model_w if show else 0
        hh.resizeSection(NOTES_COL, max(fm.horizontalAdvance("only…") + 12, min(notes_want, room)))


def model_width(fm: QFontMetrics) -> int:
    """The Reliability column's width in this font."""
    return max(fm.horizontalAdvance(t) for t in ("Reliability", "not trained")) + 16


def product_table(proxy: ProductFilter) -> ProductTable:
    """The product list: a thumbnail and the name, the photos used, the notes, the
    local model's expected reliability."""
    table = ProductTable(proxy.products)
    table.setModel(proxy)
    # a search that hides every row says so, instead of an empty list
    none = QLabel(table.viewport())
    none.setObjectName("hint")
    none.move(12, 12)
    none.hide()

    def say_none() -> None:
        none.setText(f"No product matches “{proxy.needle}”.")
        none.adjustSize()
        none.setVisible(bool(proxy.needle) and proxy.rowCount() == 0)

    proxy.refiltered.connect(say_none)
    proxy.modelReset.connect(say_none)
    table.no_match = none
    proxy.products.modelReset.connect(table.fit_columns)
    proxy.products.dataChanged.connect(table.fit_columns)
    table.setTabKeyNavigation(False)  # Tab leaves the list (it cycled its cells for ever)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setIconSize(QSize(40, 40))
    table.verticalHeader().setDefaultSectionSize(46)
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    hh = table.horizontalHeader()
    hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    # Photos: wide enough for "12 of 12". Never ResizeToContents: that measures a
    # thousand rows on every change (140 ms at 5,000 products, each search key).
    fm = table.fontMetrics()
    hh.setSectionResizeMode(PHOTOS_COL, QHeaderView.ResizeMode.Interactive)
    hh.resizeSection(PHOTOS_COL, max(fm.horizontalAdvance(t) for t in ("Photos", "12 of 12")) + 20)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    # Notes (the warnings) stay visible, as wide as the names leave (fit_columns); long
    # notes elide and show whole in the tooltip. The name column takes what is left.
    hh.setSectionResizeMode(NOTES_COL, QHeaderView.ResizeMode.Fixed)
    hh.setSectionResizeMode(MODEL_COL, QHeaderView.ResizeMode.Interactive)
    hh.resizeSection(MODEL_COL, model_width(fm))
    table.setColumnHidden(MODEL_COL, True)  # until a model says something
    table.setWordWrap(False)  # one line per name, elided ("Golden Delic…")
    table.setMinimumWidth(260)  # names elide, Notes shrinks first (fit_columns)
    return table

"""The one table of models an owner chooses between: earlier local ones, stored versions.

The Model screen lists the models each training kept on this computer; the Publish
screen the versions a shop or a folder keeps. Both show what an owner chooses by
(:data:`app.core.wording.FACT_HEADERS`: when, products, photos, held-back result) and a
status column, one row per model, as tall as its rows.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget

from app.core.wording import FACT_HEADERS

HELD_BACK_TIP = "How many of the photos held back from its training it recognised"


def versions_table(*extra_headers: str) -> QTableWidget:
    """A read-only table, one selectable row per model: the facts, then ``extra_headers``
    (the last one stretches)."""
    headers = [*FACT_HEADERS, *extra_headers]
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeaderItem(FACT_HEADERS.index("Held back")).setToolTip(HELD_BACK_TIP)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(24)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    hh = table.horizontalHeader()
    for c in range(len(headers) - 1):
        hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    hh.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    return table


def fit_rows(table: QTableWidget, rows: int, max_rows: int) -> None:
    """As tall as its rows (at most ``max_rows``), so a short list leaves no blank box."""
    header = table.horizontalHeader().sizeHint().height()
    height = table.verticalHeader().defaultSectionSize() * min(max_rows, rows)
    table.setFixedHeight(header + height + 2 * table.frameWidth() + 2)

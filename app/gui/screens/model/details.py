"""The engineer's view of a model, under its summary: every field of metadata.json, the
three files and their sizes, the labels in output order with the products they name."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.wording import format_when

from ...accessible import named
from ...versions_table import fit_rows
from .summary import human_size

if TYPE_CHECKING:
    from app.core.flows.inspect import ModelReport


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    t.verticalHeader().setDefaultSectionSize(24)
    hh = t.horizontalHeader()
    for i in range(len(headers) - 1):
        hh.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
    hh.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    return t


class ModelDetails(QSplitter):
    """Details and files on the left, the labels on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.meta_table = named(_table(["Field", "Value"]), "Details of metadata.json")
        self.files_table = named(_table(["File", "Size"]), "Files")
        fit_rows(self.files_table, 4, 4)  # three files and their total, in the font's rows
        self.labels_table = named(_table(["#", "Label (product ID)", "Product"]), "Labels")
        self.labels_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Details</b>: every field of metadata.json"))
        ll.addWidget(self.meta_table, 1)
        ll.addWidget(QLabel("<b>Files</b>"))
        ll.addWidget(self.files_table)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("<b>Labels</b> in output order"))
        rl.addWidget(self.labels_table, 1)
        self.addWidget(left)
        self.addWidget(right)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 1)
        self.setMinimumHeight(260)

    def clear(self) -> None:
        for t in (self.meta_table, self.files_table, self.labels_table):
            t.setRowCount(0)

    def show_model(self, model: ModelReport, names: dict[str, str]) -> None:
        """``names``: the products of the catalogue loaded now ({}: none loaded)."""
        meta: dict[str, Any] = model.metadata
        rows = [(k, v) for k, v in meta.items() if k != "labels"]
        rows.append(("labels", f"{len(meta.get('labels', []))} labels (listed on the right)"))
        self.meta_table.setRowCount(len(rows))
        for r, (k, v) in enumerate(rows):
            self.meta_table.setItem(r, 0, QTableWidgetItem(k))
            text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            if k in ("trainedAt", "timeStamp"):
                text = f"{v}  ({format_when(meta)})"
            elif k == "trainingDuration" and isinstance(v, int | float):
                text = f"{v:.1f} s"
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            self.meta_table.setItem(r, 1, item)
        files = model.file_sizes
        self.files_table.setRowCount(len(files) + 1)
        total = 0
        for r, (n, size) in enumerate(files):
            total += size
            self.files_table.setItem(r, 0, QTableWidgetItem(n))
            self.files_table.setItem(r, 1, QTableWidgetItem(human_size(size)))
        self.files_table.setItem(len(files), 0, QTableWidgetItem("Total"))
        self.files_table.setItem(len(files), 1, QTableWidgetItem(human_size(total)))
        self.show_labels(model, names)

    def show_labels(self, model: ModelReport, names: dict[str, str]) -> None:
        """The labels with the catalogue's names now, else the names saved at training."""
        labels = model.label_ids
        saved = model.metadata.get("labelNames")  # names written at training time
        saved = saved if isinstance(saved, list) and len(saved) == len(labels) else []
        self.labels_table.setRowCount(len(labels))
        for r, label in enumerate(labels):
            current = names.get(str(label))
            name = current or (str(saved[r]) if saved else "")
            self.labels_table.setItem(r, 0, QTableWidgetItem(str(r)))
            self.labels_table.setItem(r, 1, QTableWidgetItem(str(label)))
            gone = bool(names) and not current
            item = QTableWidgetItem((name or "—") + (" (not in the catalogue now)" if gone else ""))
            if gone:
                item.setForeground(QColor("#b03a2e"))
                item.setToolTip("Not a product of the catalogue loaded now")
            self.labels_table.setItem(r, 2, item)

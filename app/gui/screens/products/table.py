"""The product list of the Products screen: its table model and file drops.

Rows are products; a thumbnail is requested only when a row is painted, and the
notes say what the last photo check found (``NotUsed``: the records of the photos
training cannot use, by path), never re-reading its wording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from app.core.flows.check_photos import IMAGE_SUFFIXES, NotUsed, not_used
from app.core.flows.open_source import Catalogue, Product

from ...session import Session

SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
PID_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
IDENT_ROLE = Qt.ItemDataRole.UserRole + 4  # ImageRef.ident: what the store remembers


def usable_count(product: Product, found: NotUsed) -> int:
    """The product's ticked photos a training will use."""
    return sum(1 for im in product.active_images() if im.path not in found)


def photo_notes(product: Product, found: NotUsed) -> list[str]:
    """The Notes column: left out, no or one usable photo, what the check found."""
    if not product.included:
        return ["left out"]
    notes = []
    n = usable_count(product, found)
    if n == 0:
        notes.append("no usable photo")
    elif n == 1:
        notes.append("only one photo")
    ticked = [str(im.path) for im in product.active_images()]
    if any(path in found.unreadable for path in ticked):
        notes.append("unreadable file")
    if any(path in found.duplicates for path in ticked):
        notes.append("duplicate photo")
    return notes


class ProductModel(QAbstractTableModel):
    """Rows = products; the thumbnail is requested only when a row is painted."""

    COLUMNS = ("Product", "Photos", "Notes")
    include_toggled = Signal(str, bool)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.products: list[Product] = []
        self.not_used: NotUsed = not_used(None)  # what the last check found unusable
        self._row_of_path: dict[str, int] = {}
        session.thumbnails.ready.connect(self._thumb_ready)

    def set_catalogue(self, catalogue: Catalogue | None, found: NotUsed) -> None:
        self.beginResetModel()
        self.products = list(catalogue.products) if catalogue else []
        self.not_used = found
        self._row_of_path = {}
        for row, p in enumerate(self.products):
            if p.images:
                self._row_of_path[str(p.images[0].path)] = row
        self.endResetModel()

    def set_not_used(self, found: NotUsed) -> None:
        """New photo-check results without a reset, so scrolling and selection stay."""
        self.not_used = found
        if self.products:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.products) - 1, 2))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.products)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def unusable(self, p: Product) -> bool:
        """Ticked, but nothing to learn from: shown unticked and greyed, with the reason."""
        return p.included and usable_count(p, self.not_used) == 0

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDropEnabled
        if index.column() == 0 and not self.unusable(self.products[index.row()]):
            f |= Qt.ItemFlag.ItemIsUserCheckable  # a product without photos cannot be ticked
        return f

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        p = self.products[index.row()]
        col = index.column()
        if role == PID_ROLE:
            return p.id
        if role == SEARCH_ROLE:
            return f"{p.display_name} {p.id}"
        if col == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return p.display_name
            if role == Qt.ItemDataRole.CheckStateRole:
                on = p.included and not self.unusable(p)
                return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.DecorationRole:
                # a QIcon, so the view scales the thumbnail to its icon size
                thumbs = self.session.thumbnails
                if not p.images:
                    return QIcon(thumbs.loading)
                return QIcon(thumbs.get_or_placeholder(p.images[0].path))
            if role == Qt.ItemDataRole.ToolTipRole:
                tip = f"{p.display_name}\nProduct ID (label): {p.id}"
                if self.unusable(p):
                    tip += "\nNot trained: no usable photo. Add photos to include it."
                return tip
        if col == 1 and role == Qt.ItemDataRole.DisplayRole:
            used, total = usable_count(p, self.not_used), len(p.images)
            return str(used) if used == total else f"{used} of {total}"
        if col == 1 and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if col == 2:
            notes = photo_notes(p, self.not_used)
            if role == Qt.ItemDataRole.DisplayRole:
                return ", ".join(notes)
            if role == Qt.ItemDataRole.ForegroundRole and notes:
                return QColor("#9a5b00") if p.included else QColor("#777")
            if role == Qt.ItemDataRole.ToolTipRole and notes:
                return ", ".join(notes)
        if role == Qt.ItemDataRole.ForegroundRole and (not p.included or self.unusable(p)):
            return QColor("#888")
        return None

    def setData(  # noqa: N802
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = 0
    ) -> bool:
        if index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            self.include_toggled.emit(self.products[index.row()].id, checked)
            return True
        return False

    def row_of(self, pid: str) -> int:
        for i, p in enumerate(self.products):
            if p.id == pid:
                return i
        return -1

    def _thumb_ready(self, key: str) -> None:
        row = self._row_of_path.get(key)
        if row is not None:
            ix = self.index(row, 0)
            self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.DecorationRole])


class FileDrops(QObject):
    """Accepts image files dropped on a view; reports (files, position)."""

    dropped = Signal(list, object)

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.view = view
        view.setAcceptDrops(True)
        view.viewport().setAcceptDrops(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        view.viewport().installEventFilter(self)

    @staticmethod
    def _files(event: Any) -> list[Path]:
        md = event.mimeData()
        if not md.hasUrls():
            return []
        return [
            Path(u.toLocalFile())
            for u in md.urls()
            if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES
        ]

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        t = event.type()
        if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if self._files(event):
                event.acceptProposedAction()
                return True
        elif t == QEvent.Type.Drop:
            files = self._files(event)
            if files:
                event.acceptProposedAction()
                self.dropped.emit(files, event.position().toPoint())
                return True
        return False


def product_table(proxy: QSortFilterProxyModel) -> QTableView:
    """The product list: a thumbnail and the name, the photos used, the notes."""
    table = QTableView()
    table.setModel(proxy)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setIconSize(QSize(40, 40))
    table.verticalHeader().setDefaultSectionSize(46)
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    hh = table.horizontalHeader()
    hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    # Notes (the warnings) keep a fixed, always visible width; long notes elide and
    # show whole in the tooltip. The name column takes what is left.
    hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
    hh.resizeSection(2, 115)
    table.setWordWrap(False)  # one line per name, elided ("Golden Delic…")
    table.setMinimumWidth(280)  # name shrinks (elided); Photos and Notes stay whole
    return table
